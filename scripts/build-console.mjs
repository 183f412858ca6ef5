// Bundles the web console (console/) into dist/console/: index.html, icon.svg, app.js, app.css.
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'console');
const out = path.join(root, 'dist', 'console');
const started = performance.now();

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await esbuild.build({
  entryPoints: [
    { in: path.join(src, 'src', 'main.tsx'), out: 'app' },
    { in: path.join(src, 'src', 'style.css'), out: 'app' },
  ],
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  platform: 'browser',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: path.join(src, 'tsconfig.json'),
  absWorkingDir: root,
  metafile: true,
  logLevel: 'warning',
});
for (const file of ['index.html', 'icon.svg']) await copyFile(path.join(src, file), path.join(out, file));

const sizes = Object.keys(result.metafile.outputs).map((file) => {
  const bytes = readFileSync(path.join(root, file));
  return `${path.basename(file)} ${(bytes.length / 1024).toFixed(1)} KiB (${(gzipSync(bytes).length / 1024).toFixed(1)} KiB gzipped)`;
});
console.log(`console built in ${Math.round(performance.now() - started)} ms: ${sizes.join(', ')}`);
