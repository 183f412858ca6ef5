#!/usr/bin/env node
// The dhp command. Runs the compiled code in dist/ (npm run build makes it). In a checkout,
// DHP_FROM_SOURCE=1 runs the TypeScript sources instead, through tsx (a dev dependency);
// the tests use that so they run this very file without a build.
import { existsSync } from 'node:fs';

let entry = new URL('../dist/cli/main.js', import.meta.url);
if (process.env.DHP_FROM_SOURCE === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/cli/main.ts', import.meta.url);
} else if (!existsSync(entry)) {
  process.stderr.write('dhp: dist/ is missing; run "npm run build" first.\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
