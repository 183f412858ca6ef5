// Running pocketsphinx_batch: the process, its search settings and its output.
import { constants as fsConstants } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runTool, ToolError } from '../../process/run-tool.js';
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

/** Runs pocketsphinx through the one tool runner; a failure carries the tail of its stderr. */
async function run(binary: string, args: string[], timeoutMs: number): Promise<void> {
  try {
    await runTool(binary, args, { timeoutMs, captureStdout: false });
  } catch (err) {
    if (err instanceof ToolError) throw new Error(`${err.message}${err.stderrTail.trim() ? `: ${err.stderrTail.trim()}` : ''}`);
    throw err;
  }
}

export function isReadable(file: string): Promise<boolean> {
  return access(file, fsConstants.R_OK).then(() => true, () => false);
}
