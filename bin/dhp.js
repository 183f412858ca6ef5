#!/usr/bin/env node
// The dhp command. Runs the compiled code in dist/ (npm run build makes it).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('dhp: dist/ is missing; run "npm run build" first.\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
