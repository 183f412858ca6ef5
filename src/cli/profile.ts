import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { CliError, EXIT } from './args.js';

/** What the client commands need to reach an API: saved by `dhp login`, overridable from the environment. */
export interface Credentials { baseUrl: string; appId: string; secret: string }

const ENV: Record<keyof Credentials, string> = { baseUrl: 'DHP_BASE_URL', appId: 'DHP_APP_ID', secret: 'DHP_SECRET' };

/** $XDG_CONFIG_HOME/dhp/config.json, else ~/.config/dhp/config.json. */
export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(homedir(), '.config');
  return path.join(base, 'dhp', 'config.json');
}

function readFile(file: string): Partial<Credentials> {
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try { parsed = JSON.parse(readFileSync(file, 'utf8')); } catch (err) {
    throw new CliError(`cannot read ${file} (${(err as Error).message}); run "dhp login" again`, EXIT.usage);
  }
  const out: Partial<Credentials> = {};
  for (const k of Object.keys(ENV) as (keyof Credentials)[]) {
    const v = (parsed as Record<string, unknown> | null)?.[k];
    if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return out;
}

/** The saved credentials with DHP_BASE_URL, DHP_APP_ID and DHP_SECRET taking precedence; exit 3 when incomplete. */
export function loadCredentials(env: NodeJS.ProcessEnv = process.env): Credentials {
  const merged = readFile(configFile(env));
  for (const [k, name] of Object.entries(ENV) as [keyof Credentials, string][]) if (env[name]) merged[k] = env[name];
  const missing = (Object.keys(ENV) as (keyof Credentials)[]).filter((k) => !merged[k]);
  if (missing.length) {
    throw new CliError(`not logged in: run "dhp login" (or set ${missing.map((k) => ENV[k]).join(', ')})`, EXIT.credentials);
  }
  return merged as Credentials;
}

/** Writes the credentials atomically: directory 0700, file 0600. Returns the file's path. */
export function saveCredentials(c: Credentials, env: NodeJS.ProcessEnv = process.env): string {
  const file = configFile(env);
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const tmp = `${file}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  try {
    writeFileSync(tmp, `${JSON.stringify({ baseUrl: c.baseUrl, appId: c.appId, secret: c.secret }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return file;
}

/** Removes the saved credentials; false when there were none. */
export function removeCredentials(env: NodeJS.ProcessEnv = process.env): boolean {
  const file = configFile(env);
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
}
