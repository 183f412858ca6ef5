// Peak memory of downloading a 1 GB file through dhp's safe HTTP client to disk.
// Run: node --import tsx bench/download.ts   (BENCH_DOWNLOAD_MB to change the size)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SafeHttp } from '../src/net/http.js';
import { downloadToFile } from '../src/net/fetch-media.js';

const mb = Number(process.env.BENCH_DOWNLOAD_MB ?? 1024);
const size = mb * 1024 * 1024;
const chunk = Buffer.alloc(1 << 20, 0x5a);

// The server runs in this process too, so its memory counts against us: it only ever holds one 1 MB chunk.
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(size) });
  let sent = 0;
  const pump = () => {
    while (sent < size) {
      const n = Math.min(chunk.length, size - sent);
      sent += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/big.mp4`;
const dir = mkdtempSync(path.join(tmpdir(), 'dhp-bench-dl-'));
const dest = path.join(dir, 'big.mp4');
const http = new SafeHttp({ allowPrivate: true, timeoutMs: 600_000, maxResponseBytes: 1 << 20, maxRedirects: 0, userAgent: 'dhp-bench' });

const rssBefore = process.memoryUsage().rss;
let peak = rssBefore;
const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
const t0 = performance.now();
await downloadToFile(http, url, dest, { field: 'videoUrl', maxBytes: size + 1, timeoutMs: 600_000 });
const seconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
const maxRss = process.resourceUsage().maxRSS * 1024;
const got = statSync(dest).size;
const MB = (n: number) => (n / 1024 / 1024).toFixed(0);
console.log(`download ${MB(got)} MB in ${seconds.toFixed(1)} s (${(got / 1024 / 1024 / seconds).toFixed(0)} MB/s)`);
console.log(`RSS before ${MB(rssBefore)} MB, peak sampled ${MB(peak)} MB, process maxRSS ${MB(maxRss)} MB (goal: under ~200 MB)`);
server.close();
rmSync(dir, { recursive: true, force: true });
