import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, type Transaction, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type { Database } from './schema.js';
import { migrate } from './migrations.js';

export type Db = Kysely<Database>;

/** The database or a transaction on it: what a step that may join its caller's transaction takes. */
export type Executor = Kysely<Database> | Transaction<Database>;

/**
 * The embedded store: one SQLite file in WAL mode. A busy timeout lets a second
 * process (a `dhp app` command beside a running server) wait for the write lock
 * instead of failing.
 */
export async function openSqlite(file: string): Promise<Db> {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  await migrate(db, 'sqlite');
  return db;
}

/**
 * Kysely's SQLite driver prepares every query anew; compiling the SQL costs more
 * than running it on the hot paths (one indexed read per API call). Statements
 * are reusable, and the driver runs one query at a time on its connection, so a
 * small LRU of prepared statements keyed by SQL text is safe. SQL text never
 * contains values (they are bound parameters), so the set of keys is small.
 */
export function withStatementCache(sqlite: SQLite.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => { sqlite.close(); },
    prepare(sql: string): SqliteStatement {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = sqlite.prepare(sql) as unknown as SqliteStatement;
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}
