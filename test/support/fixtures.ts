import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createReadStream, statSync } from 'node:fs';
import { PocketsphinxRecognizer } from '../../src/engines/consent/recognizer.js';
import { toWav16kMono } from '../../src/media/ffmpeg.js';
import { EspeakEngine } from '../../src/engines/tts/espeak.js';
import { encodeWavPcm16 } from '../../src/media/wav.js';
import { locateMediaTools } from '../../src/media/tools.js';

/** Test media made here, with real tools: ffmpeg, espeak-ng and a real photo. */

/**
 * The consent sentences the cloning tests speak and send as authorizeText, and the espeak voices
 * that say them. The recognizer sends synthetic speech to an operator whenever a similar-sounding
 * dictionary word fits it better than the written word (bench/RESULTS.md, issue 9: 20 of 26 correct
 * espeak sentences); these voices say these sentences so that it verifies them (measured 3 of 3 to
 * 4 of 4 each: CONSENT_VOICE 194 Hz, LOW_CONSENT_VOICE 83 Hz, HIGH_CONSENT_VOICE 252 Hz).
 */
export const AVATAR_CONSENT = 'I am Mary Jones. I consent to clone my avatar for the synthesis of video.';
export const VOICE_CONSENT = 'I am Mary Jones. I consent to clone my voice for the synthesis of audio.';
export const CONSENT_VOICE = 'en-us+f2';
/** For a low voice sample (about 84 Hz): en-us+m5 at espeak pitch 25. */
export const LOW_CONSENT_VOICE = { voice: 'en-us+m5', pitch: 25 } as const;
/** For a high voice sample (about 290 Hz): en-us+f5 at espeak pitch 70. */
export const HIGH_CONSENT_VOICE = { voice: 'en-us+f5', pitch: 70 } as const;
/** The ffmpeg and ffprobe the product itself would use here (DHP_FFMPEG_PATH, else the system's, else npm's). */
const tools = await locateMediaTools({ ffmpegPath: process.env.DHP_FFMPEG_PATH, ffprobePath: process.env.DHP_FFPROBE_PATH });
export const ffmpegBin = tools.ffmpeg;
export const ffprobeBin = tools.ffprobe;

/** ffprobe's view of a file: every stream with its frames counted, and the format. */
export function probeFile(file: string, opts: { countFrames?: boolean } = {}): any {
  const args = ['-v', 'error', ...(opts.countFrames === false ? [] : ['-count_frames']), '-show_streams', '-show_format', '-of', 'json', file];
  return JSON.parse(execFileSync(ffprobeBin, args, { encoding: 'utf8' }));
}
const facePhoto = path.resolve(import.meta.dirname, '../../node_modules/@vladmandic/face-api/demo/sample3.jpg');

export function ffmpeg(args: string[]) {
  execFileSync(ffmpegBin, ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A portrait video of a real face (a photo from @vladmandic/face-api, gently panned). */
export function faceVideo(file: string, seconds: number, size = '360:640') {
  ffmpeg(['-loop', '1', '-i', facePhoto, '-vf', `crop=540:960:930+30*sin(t*2):0,scale=${size},format=yuv420p`,
    '-t', String(seconds), '-r', '25', '-c:v', 'libx264', '-preset', 'ultrafast', file]);
}

/** A face in front of a green screen (the photo's part of the frame is not green; the border is). */
export function greenScreenVideo(file: string, seconds: number) {
  ffmpeg(['-f', 'lavfi', '-i', `color=c=0x00b140:s=360x640:r=25:d=${seconds}`, '-loop', '1', '-i', facePhoto,
    '-filter_complex', '[1:v]crop=540:960:930+30*sin(t*2):0,scale=240:426[p];[0:v][p]overlay=60:214:shortest=1,format=yuv420p',
    '-t', String(seconds), '-r', '25', '-c:v', 'libx264', '-preset', 'ultrafast', file]);
}

/** A video with no face in it: moving colour bars. */
export function noFaceVideo(file: string, seconds: number) {
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=360x640:rate=25:duration=${seconds}`, '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', file]);
}

export class Speech {
  private engine = new EspeakEngine({ threads: 1 });
  async wav(file: string, text: string, voice = 'en-us+m3', pitch?: number): Promise<void> {
    const r = await this.engine.synthesize(text, { engine: 'espeak', voice, pitch });
    writeFileSync(file, r.wav);
  }
  /** Speech repeated with pauses to a length suitable for a voice sample. */
  async sample(file: string, voice: string, pitch: number, seconds = 12): Promise<void> {
    const text = 'The quick brown fox jumps over the lazy dog. My voice is calm and clear, and I speak at an even pace. ';
    await this.wav(file, text.repeat(Math.ceil(seconds / 6)), voice, pitch);
  }
  /**
   * A spoken consent recording (a WAV, and with `video` also the consent video made from it) that
   * the real recognizer verifies, for tests about what comes after consent. espeak-ng output
   * differs slightly from call to call, so a recording the recognizer does not verify is
   * synthesized once more, and the miss is printed: it is a false refusal, and bench/consent.ts
   * counts those (it never re-synthesizes). Two misses in a row throw.
   */
  async consent(wav: string, text: string, voice: string, video?: string, pitch?: number): Promise<void> {
    const recognizer = await PocketsphinxRecognizer.locate();
    const tools = await locateMediaTools();
    const reasons: string[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      await this.wav(wav, text, voice, pitch);
      if (video) consentVideo(video, wav);
      if (!recognizer) return;
      // Converted as the consent service converts what it downloads.
      const heard = `${video ?? wav}.16k.wav`;
      await toWav16kMono(tools, video ?? wav, heard);
      const result = await recognizer.check(heard, text);
      rmSync(heard, { force: true });
      if (result.verdict === 'verified') return;
      reasons.push(`${result.verdict}: ${result.reason}`);
      console.warn(`consent fixture: ${voice} "${text}" was not verified (${reasons.at(-1)}); synthesizing again`);
    }
    throw new Error(`the recognizer did not verify 2 syntheses of the consent sentence: ${reasons.join(' | ')}`);
  }
  close() { return this.engine.close(); }
}

export function silentWav(file: string, seconds: number) {
  writeFileSync(file, encodeWavPcm16(new Int16Array(22050 * seconds), 22050));
}

/** Consent recording as a video: the face video with the spoken sentence as its sound. */
export function consentVideo(file: string, speechWav: string) {
  ffmpeg(['-loop', '1', '-i', facePhoto, '-i', speechWav, '-vf', 'crop=540:960:930:0,scale=360:640,format=yuv420p', '-r', '25',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', file]);
}

/** Serves a folder over HTTP (the media the API downloads); unknown paths answer 404, `.html` answers a page. */
export async function serveFolder(dir: string): Promise<{ url: (name: string) => string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').slice(1).split('?')[0]);
    const file = path.join(dir, path.basename(name));
    if (!name || !existsSync(file)) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
    const type = file.endsWith('.html') ? 'text/html' : file.endsWith('.wav') ? 'audio/wav' : file.endsWith('.mp3') ? 'audio/mpeg'
      : file.endsWith('.png') ? 'image/png' : file.endsWith('.jpg') ? 'image/jpeg' : 'video/mp4';
    res.writeHead(200, { 'content-type': type, 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: (name) => `${base}/${name}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
