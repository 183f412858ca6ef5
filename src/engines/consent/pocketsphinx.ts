// Running pocketsphinx_batch: the process, its search settings and its output.
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SAMPLE_RATE } from './audio.js';

const DECODE_TIMEOUT_MS = 120_000;

/**
 * Grammar decodes: score every senone (comparable scores, see recognizer.ts's header), wide beams
 * because the grammars are tiny, no automatic fillers (silence is cut from the audio instead),
 * and the first-pass result as is (the lattice rescoring is for language models).
 */
export const GRAMMAR_SEARCH_ARGS = [
  '-compallsen', 'yes', '-fsgusefiller', 'no', '-bestpath', 'no',
  '-beam', '1e-80', '-pbeam', '1e-80', '-wbeam', '1e-80', '-lpbeam', '1e-80', '-lponlybeam', '1e-80',
];

/** Runs pocketsphinx_batch (`binary`, acoustic model `hmm`) on `dir`/`audio`.raw and returns the segmentation of its best hypothesis. */
export async function decode(binary: string, hmm: string, dir: string, audio: string, name: string, searchArgs: string[]): Promise<Segment[]> {
  const ctl = path.join(dir, `${name}.ctl`);
  const out = path.join(dir, `${name}.seg`);
  await writeFile(ctl, `${audio}\n`);
  await run(binary, [
    '-hmm', hmm, ...searchArgs,
    '-adcin', 'yes', '-cepdir', dir, '-cepext', '.raw', '-ctl', ctl, '-hypseg', out,
    '-samprate', String(SAMPLE_RATE), '-input_endian', 'little', '-remove_silence', 'no', '-logfn', '/dev/null',
  ], DECODE_TIMEOUT_MS);
  return parseHypseg(await readFile(out, 'utf8'));
}

export interface Segment {
  word: string;
  startFrame: number;
  frames: number;
  /** Acoustic score of the segment (pocketsphinx units, ≤ 0 relative to the best senone). */
  score: number;
}

/** Parses a -hypseg line: `id S s T t A a L l  sf ascr lscr word  ...  endFrame`. */
export function parseHypseg(text: string): Segment[] {
  const fields = text.trim().split(/\s+/);
  const segments: Segment[] = [];
  for (let i = 9; i + 4 < fields.length; i += 4) {
    const startFrame = Number(fields[i]);
    const word = fields[i + 3];
    // "(NULL)" marks a null transition; it spans no audio.
    if (word === '(NULL)') continue;
    segments.push({ word, startFrame, frames: Number(fields[i + 4]) - startFrame, score: Number(fields[i + 1]) });
  }
  return segments.filter((s) => s.frames > 0);
}

/** Runs a command without a shell; rejects with the tail of stderr on failure or timeout. */
function run(binary: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(binary)} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(binary)} failed (${signal ?? `exit code ${code}`}): ${stderr.trim()}`));
    });
  });
}

/** An absolute/relative path as given, or a bare name searched in PATH; null when not executable. */
export async function findExecutable(name: string): Promise<string | null> {
  const candidates = name.includes(path.sep) ? [name] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    if (await access(candidate, fsConstants.X_OK).then(() => true, () => false)) return candidate;
  }
  return null;
}

export function isReadable(file: string): Promise<boolean> {
  return access(file, fsConstants.R_OK).then(() => true, () => false);
}
