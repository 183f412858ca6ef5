// The task lifecycle's suite on the embedded store (SQLite, a file per test).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqlite } from '../../src/store/db.js';
import { removeDir } from '../support/helpers.js';
import { settleSuite } from './settle-suite.js';

settleSuite('SQLite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dhp-settle-'));
  const db = await openSqlite(path.join(dir, 'dhp.sqlite'));
  return { db, close: async () => { await db.destroy(); removeDir(dir); } };
});
