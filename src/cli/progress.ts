import { duration } from './format.js';

/** Shows a task's status while it is waited for; everything goes to stderr. */
export interface Progress {
  /** The current status, and how far the task is (0..100) when the API says. */
  status(name: string, percent?: number): void;
  /** Ends the display, leaving one line with the last status. */
  done(): void;
}

/**
 * On a terminal: one line redrawn in place (a bar when the percentage is known, the status and
 * the elapsed time; at most 10 redraws a second). Otherwise: a plain line each time the status
 * changes.
 */
export function progress(label: string): Progress {
  const stream = process.stderr;
  const started = Date.now();
  let current = '';
  let percent: number | undefined;
  const line = () => `${label}: ${percent === undefined ? '' : `${bar(percent)} `}${current} (${duration(Date.now() - started)})`;
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
    status(name, p) { current = name; percent = p; draw(); },
    done() {
      if (ended) return;
      clearInterval(timer);
      if (current) stream.write(`\r\x1b[2K${line()}\n`);
      ended = true;
    },
  };
}

/** `[#########...........]  45%`: 20 cells. */
export function bar(percent: number): string {
  const p = Math.max(0, Math.min(100, Math.round(percent)));
  const filled = Math.round(p / 5);
  return `[${'#'.repeat(filled)}${'.'.repeat(20 - filled)}] ${String(p).padStart(3)}%`;
}
