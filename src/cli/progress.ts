import { duration } from './format.js';

/** Shows a task's status while it is waited for; everything goes to stderr. */
export interface Progress {
  status(name: string): void;
  /** Ends the display, leaving one line with the last status. */
  done(): void;
}

/**
 * On a terminal: one line redrawn in place (status and elapsed time, at most 10 redraws a second).
 * Otherwise: a plain line each time the status changes.
 */
export function progress(label: string): Progress {
  const stream = process.stderr;
  const started = Date.now();
  let current = '';
  const line = () => `${label}: ${current} (${duration(Date.now() - started)})`;
  if (!stream.isTTY) {
    return {
      status(name) { if (name !== current) { current = name; stream.write(`${line()}\n`); } },
      done() {},
    };
  }
  let ended = false;
  let shown = '';
  const draw = () => {
    const now = line();
    if (!current || ended || now === shown) return;
    shown = now;
    stream.write(`\r\x1b[2K${now}`);
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    status(name) { current = name; draw(); },
    done() {
      if (ended) return;
      clearInterval(timer);
      if (current) stream.write(`\r\x1b[2K${line()}\n`);
      ended = true;
    },
  };
}
