// RIFF/WAVE encoding and decoding for 16-bit PCM, the only sample format the platform produces
// and accepts internally. Other formats are rejected with a clear error instead of being guessed at.

import { endianness } from 'node:os';

export interface DecodedWav {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Interleaved samples (16-bit only). */
  samples: Int16Array;
  durationMs: number;
}

export const WAV_HEADER_BYTES = 44;
const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/** Writes the canonical 44-byte PCM16 header for `dataBytes` bytes of sample data into `target`. */
export function writeWavHeader(target: Buffer, dataBytes: number, sampleRate: number, channels = 1): void {
  const bytesPerFrame = channels * 2;
  target.write('RIFF', 0, 'ascii');
  // RIFF sizes are 32-bit; clamping keeps the header parseable if someone feeds >4 GiB of audio.
  target.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  target.write('WAVE', 8, 'ascii');
  target.write('fmt ', 12, 'ascii');
  target.writeUInt32LE(16, 16);
  target.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  target.writeUInt16LE(channels, 22);
  target.writeUInt32LE(sampleRate, 24);
  target.writeUInt32LE(sampleRate * bytesPerFrame, 28);
  target.writeUInt16LE(bytesPerFrame, 32);
  target.writeUInt16LE(16, 34);
  target.write('data', 36, 'ascii');
  target.writeUInt32LE(Math.min(0xffffffff, dataBytes), 40);
}

/** Copies samples into `target` at `byteOffset` as little-endian int16, whatever the host byte order. */
export function writePcm16(target: Buffer, byteOffset: number, samples: Int16Array): void {
  if (HOST_IS_LITTLE_ENDIAN && byteOffset % 2 === 0 && (target.byteOffset + byteOffset) % 2 === 0) {
    new Int16Array(target.buffer, target.byteOffset + byteOffset, samples.length).set(samples);
    return;
  }
  for (let i = 0; i < samples.length; i++) target.writeInt16LE(samples[i], byteOffset + i * 2);
}

export function encodeWavPcm16(samples: Int16Array, sampleRate: number, channels = 1): Buffer {
  validateFormat(sampleRate, channels);
  if (samples.length % channels !== 0) {
    throw new Error(`sample count ${samples.length} is not a multiple of the channel count ${channels}`);
  }
  const dataBytes = samples.length * 2;
  const out = Buffer.alloc(WAV_HEADER_BYTES + dataBytes);
  writeWavHeader(out, dataBytes, sampleRate, channels);
  writePcm16(out, WAV_HEADER_BYTES, samples);
  return out;
}

export function decodeWav(buf: Buffer): DecodedWav {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a WAV file (missing RIFF/WAVE header)');
  }
  const { fmt, data } = findChunks(buf);
  if (!fmt) throw new Error('invalid WAV file: no "fmt " chunk');
  if (!data) throw new Error('invalid WAV file: no "data" chunk');
  const format = parseFmt(fmt);
  const frameBytes = format.channels * 2;
  // A truncated final frame (e.g. from an interrupted upload) is dropped rather than misaligning channels.
  const usableBytes = data.length - (data.length % frameBytes);
  const samples = readPcm16(data.subarray(0, usableBytes));
  const frames = samples.length / format.channels;
  return { ...format, samples, durationMs: (frames * 1000) / format.sampleRate };
}

interface FmtInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
}

function findChunks(buf: Buffer): { fmt?: Buffer; data?: Buffer } {
  const found: { fmt?: Buffer; data?: Buffer } = {};
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const declared = buf.readUInt32LE(offset + 4);
    const bodyStart = offset + 8;
    // Streaming writers declare a huge placeholder size (0xFFFFFFFF); the file length wins.
    const body = buf.subarray(bodyStart, Math.min(buf.length, bodyStart + declared));
    if (id === 'fmt ' && !found.fmt) found.fmt = body;
    if (id === 'data' && !found.data) found.data = body;
    if (found.fmt && found.data) break;
    // Chunks are word-aligned: an odd-sized chunk is followed by one pad byte.
    offset = bodyStart + declared + (declared % 2);
  }
  return found;
}

function parseFmt(fmt: Buffer): FmtInfo {
  if (fmt.length < 16) throw new Error('invalid WAV file: "fmt " chunk is too short');
  let formatTag = fmt.readUInt16LE(0);
  const channels = fmt.readUInt16LE(2);
  const sampleRate = fmt.readUInt32LE(4);
  const bitsPerSample = fmt.readUInt16LE(14);
  if (formatTag === WAVE_FORMAT_EXTENSIBLE && fmt.length >= 26) {
    // The real format is the first two bytes of the SubFormat GUID.
    formatTag = fmt.readUInt16LE(24);
  }
  if (formatTag !== WAVE_FORMAT_PCM) {
    throw new Error(`unsupported WAV encoding (format tag ${formatTag}); only 16-bit PCM is supported`);
  }
  if (bitsPerSample !== 16) {
    throw new Error(`unsupported WAV sample size ${bitsPerSample} bits; only 16-bit PCM is supported`);
  }
  validateFormat(sampleRate, channels);
  return { sampleRate, channels, bitsPerSample };
}

function validateFormat(sampleRate: number, channels: number): void {
  if (!Number.isInteger(channels) || channels < 1 || channels > 16) {
    throw new Error(`invalid WAV channel count ${channels}`);
  }
  if (!Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 384000) {
    throw new Error(`invalid WAV sample rate ${sampleRate}`);
  }
}

function readPcm16(bytes: Buffer): Int16Array {
  const samples = new Int16Array(bytes.length / 2);
  if (HOST_IS_LITTLE_ENDIAN) {
    // Copy through a byte view: the source may sit at an odd offset inside a pooled Buffer.
    new Uint8Array(samples.buffer).set(bytes);
  } else {
    for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
  }
  return samples;
}
