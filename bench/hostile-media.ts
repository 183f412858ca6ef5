/**
 * What the media bombs of issue 12 cost the server, one bomb per process (peak RSS is per
 * process): `node --import tsx bench/hostile-media.ts` runs them all and prints a table.
 * Each case starts a real dhp server in this process and reports the process's peak RSS
 * growth, the longest event-loop stall while the bomb was handled, the wall time, and the peak
 * RSS of the ffprobe/ffmpeg children (recorded by wrappers, as in test/api/hostile-media.test.ts).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Client, removeDir, startDhp, waitFor } from '../test/support/helpers.js';
import { ffmpegBin, ffprobeBin, serveFolder, silentWav } from '../test/support/fixtures.js';

const CASES = ['voice-sample-1h-96k', 'audioUrl-10h-flac', 'upload-80mb-tag', 'upload-16000px-png', 'tts-break-600s'] as const;
type Case = (typeof CASES)[number];

const run = promisify(execFile);
const ff = (args: string[]) => execFileSync(ffmpegBin, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

async function runCase(name: Case): Promise<Record<string, string | number>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dhp-bomb-'));
  const runs = path.join(dir, 'runs');
  mkdirSync(runs);
  const wrap = (tool: string, real: string) => {
    const file = path.join(dir, tool);
    writeFileSync(file, `#!/bin/bash\n/usr/bin/time -f '%M' -a -o "${runs}/${tool}" "${real}" "$@"\n`);
    chmodSync(file, 0o755);
    return file;
  };
  // Made before the server starts, so making them is not measured.
  if (name === 'voice-sample-1h-96k') {
    ff(['-f', 'lavfi', '-i', 'anullsrc=r=96000:cl=mono', '-t', '3600', '-c:a', 'flac', '-frame_size', '65535', '-f', 'wav', path.join(dir, 'bomb.wav')]);
    silentWav(path.join(dir, 'consent.wav'), 2);
  }
  if (name === 'audioUrl-10h-flac') {
    ff(['-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '36000', '-c:a', 'flac', '-frame_size', '65535', path.join(dir, 'bomb.flac')]);
  }
  if (name === 'upload-80mb-tag') {
    writeFileSync(path.join(dir, 'meta.txt'), `;FFMETADATA1\ntitle=${'A'.repeat(80 * 1024 * 1024)}\n`);
    ff(['-f', 'lavfi', '-i', 'sine=d=1', '-i', path.join(dir, 'meta.txt'), '-map_metadata', '1', '-c:a', 'pcm_s16le', path.join(dir, 'bomb.wav')]);
  }
  if (name === 'upload-16000px-png') {
    ff(['-f', 'lavfi', '-i', 'color=c=black:s=16000x16000', '-frames:v', '1', '-c:v', 'png', path.join(dir, 'bomb.png')]);
  }
  const files = await serveFolder(dir);
  const h = await startDhp({
    ffmpegPath: wrap('ffmpeg', ffmpegBin), ffprobePath: wrap('ffprobe', ffprobeBin),
    consentRequired: false,
  });
  // The default quota (1 h of video): the old code decoded the whole bomb before checking it.
  const client = await Client.create(h, 'bench');
  const rssBefore = process.resourceUsage().maxRSS;
  const stalls = monitorEventLoopDelay({ resolution: 10 });
  stalls.enable();
  const t0 = performance.now();
  let outcome = '';
  try {
    if (name === 'voice-sample-1h-96k') {
      const r = await client.call('POST', '/openapi/speaker/v3/clone', {
        name: 'bomb', audioUrl: files.url('bomb.wav'), authorizeUrl: files.url('consent.wav'), authorizeText: 'I consent.',
      });
      const v = await waitFor('voice', async () => {
        const d = (await client.call('GET', `/openapi/speaker/v2/clone/${r.body.data.speakerId}`)).body.data;
        return d.status >= 2 ? d : null;
      }, 600_000);
      outcome = `status ${v.status}: ${v.reason}`;
    } else if (name === 'audioUrl-10h-flac') {
      const r = await client.call('POST', '/openapi/video/v3/simpleCreate', { sceneId: -101, audioUrl: files.url('bomb.flac') });
      const v = await waitFor('video', async () => {
        const d = (await client.call('GET', `/openapi/video/v2/get/${r.body.data.videoId}`)).body.data;
        return [1, 2].includes(d.synthesisStatus) ? null : d;
      }, 600_000);
      outcome = `status ${v.synthesisStatus}: ${v.failReason}`;
    } else if (name === 'tts-break-600s') {
      const r = await client.call('POST', '/openapi/speaker/v3/fastTts', { speakerId: 'en-us-female', content: 'a<break time="600s"/>b' });
      const d = await client.waitTts(r.body.data.id, 600_000);
      outcome = `status ${d.status}, ${d.duration} ms of audio`;
    } else {
      // curl sends it, so the client's own memory and CPU are not the server's.
      const file = name === 'upload-80mb-tag' ? 'bomb.wav' : 'bomb.png';
      const { stdout } = await run('curl', ['-s', '-F', `file=@${path.join(dir, file)}`, `${h.base}/openapi/file/upload?access_token=${client.token}`]);
      const body = JSON.parse(stdout) as { code: string; message: string; data: unknown };
      outcome = `${body.code}: ${body.code === '0' ? JSON.stringify(body.data) : body.message}`;
    }
  } finally {
    stalls.disable();
    await h.close();
    await files.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const childRss = (tool: string) => {
    const text = readdirSync(runs).includes(tool) ? readFileSync(path.join(runs, tool), 'utf8') : '';
    const peaks = text.split('\n').map(Number).filter((n) => n > 0);
    return peaks.length ? Math.round(Math.max(...peaks) / 1024) : 0;
  };
  const result = {
    case: name,
    'wall s': Number(seconds.toFixed(1)),
    'API peak RSS growth MB': Math.round((process.resourceUsage().maxRSS - rssBefore) / 1024),
    'longest event-loop stall ms': Math.round(stalls.max / 1e6),
    'ffprobe peak MB': childRss('ffprobe'),
    'ffmpeg peak MB': childRss('ffmpeg'),
    outcome: outcome.slice(0, 160),
  };
  removeDir(h.dir);
  removeDir(dir);
  return result;
}

const only = process.argv[2] as Case | undefined;
if (only) {
  if (!CASES.includes(only)) throw new Error(`unknown case ${only}; one of ${CASES.join(', ')}`);
  console.log(JSON.stringify(await runCase(only)));
} else {
  for (const name of CASES) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    console.log(r.stdout.trim().split('\n').pop());
  }
}
