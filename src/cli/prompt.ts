import { createInterface } from 'node:readline/promises';
import { CliError, EXIT } from './args.js';

const interrupted = () => new CliError('interrupted', EXIT.interrupted);

/** Asks for one line on the terminal (prompt on stderr); Enter alone gives `fallback`. */
export async function ask(question: string, fallback = ''): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const ac = new AbortController();
  rl.on('SIGINT', () => ac.abort());
  try {
    const answer = (await rl.question(fallback ? `${question} [${fallback}]: ` : `${question}: `, { signal: ac.signal })).trim();
    return answer || fallback;
  } catch (err) {
    if (ac.signal.aborted) { process.stderr.write('\n'); throw interrupted(); }
    throw err;
  } finally {
    rl.close();
  }
}

/** Asks for a secret without echoing it: the terminal is in raw mode while it is typed. */
export function askSecret(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(`${question}: `);
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err); else resolve(value.trim());
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(interrupted());
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
