import { ConfigError } from '../config/config.js';
import { CliError, EXIT, UsageError } from './args.js';
import type { ClientCommandName } from './client-commands.js';

const HELP = `dhp: a self-hostable Digital Human Platform

Usage: dhp COMMAND [ARGUMENTS] [OPTIONS]       dhp help: this text

Server commands (run where the server and its data are; configuration from DHP_* env, see README.md):
  dhp serve                         Serve the API, the workers and the files
  dhp app create --name NAME [--corp-id N] [--json]
                                    Create an app (tenant); prints appId and secret
  dhp app list [--json]             List apps
  dhp app quota APPID [--tts-words N] [--fast-duration MS] [--fast-training N] [--voice-clone N] [--json]
                                    Set an app's quota totals (remaining = total - used)
  dhp app disable APPID | enable APPID
                                    Refuse (or accept again) the app's tokens and signatures
  dhp app revoke-tokens APPID       End every access token of the app (it signs for new ones)
  dhp app rotate-secret APPID [--json]
                                    A new secret; the old one and all tokens stop working
  dhp consent list [--state review|pending|verified|refused|approved|rejected] [--json]
                                    Consent recordings and their state (review = waiting for an operator)
  dhp consent approve ID [--reason TEXT]
  dhp consent reject ID [--reason TEXT]
                                    Decide a consent an automatic check could not (e.g. Mandarin)
  dhp lipsync analyse SCENE_ID... | --all [--json]
                                    Analyse trained avatars for lip-sync now (--all: those without a
                                    mouth bank) instead of on their next video

Client commands (call a dhp server, or the cloud platform, over its API):
  dhp login [--base-url URL] [--app-id ID] [--secret S]
                                    Check the credentials and save them; takes what is missing from
                                    DHP_BASE_URL, DHP_APP_ID, DHP_SECRET, else asks on a terminal
                                    (the secret without echo)
  dhp logout                        Remove the saved credentials
  dhp account [--json]              Quotas: what remains of what
  dhp avatars [--mine] [--json]     Public avatars, or your avatar trainings and their scene ids
  dhp voices [--mine] [--json]      Public voices, or your cloned voices
  dhp tts "TEXT" --voice ID [-o out.wav] [--srt out.srt] [--no-wait] [--json]
                                    Speech from text
  dhp voice clone --audio FILE|URL --consent FILE|URL --consent-text "..." [--name N] [--sex male|female]
                  [--no-wait] [--json]
                                    Clone a voice; the consent recording speaks the consent text
  dhp avatar train --video FILE|URL --consent FILE|URL --consent-text "..." [--name N] [--compress]
                   [--no-wait] [--json]
                                    Train an avatar (a scene for "video create") from a video
  dhp video create --avatar ID (--text "..." --voice ID | --audio FILE|URL) [--name N] [--pn 0|1]
                   [-o out.mp4] [--no-wait] [--json]
                                    Make a video of an avatar speaking
  dhp video cancel ID [--json]      Cancel a video that is still queued or running
  dhp wait tts|voice|training|video ID [-o FILE] [--srt FILE] [--json]
                                    Wait for a task created earlier (and download its results);
                                    "avatar" also names a training

  Media given as a local file (anything but an http(s) URL) is uploaded first. Commands that
  create a task wait for it, showing progress on stderr; Ctrl-C stops waiting and leaves the task
  running ("dhp wait" resumes). -o and --srt download the results; without them the URLs are printed.

  Credentials: saved by "dhp login" in $XDG_CONFIG_HOME/dhp/config.json (else ~/.config/dhp/config.json,
  readable by you only). DHP_BASE_URL, DHP_APP_ID and DHP_SECRET override the saved values (for CI).

  --json: stdout carries one JSON document and nothing else: the data listed, or the task's final
  record with "files" (the absolute paths written by -o / --srt). A task that ended without success
  still prints its record (and exits 1). Errors never go to stdout: they are text on stderr.

Exit codes:
  0    success
  1    the task failed, or the API refused the request (its message is printed)
  2    bad usage or configuration: unknown command or flag, missing value, missing local file
  3    not logged in, or the server refuses the credentials: run "dhp login"
  130  interrupted (Ctrl-C) while waiting; the task keeps running
`;

const serverCommands = ['serve', 'app', 'consent', 'lipsync'] as const;
const clientCommands: ClientCommandName[] = ['login', 'logout', 'account', 'avatars', 'voices', 'tts', 'voice', 'avatar', 'video', 'wait'];
const isOneOf = <T extends string>(list: readonly T[], s: string): s is T => (list as readonly string[]).includes(s);

/** Runs one command and returns its exit code (see HELP). Each group's code is loaded only when used. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') { process.stdout.write(HELP); return EXIT.ok; }
    if (isOneOf(serverCommands, cmd)) return await (await import('./server-commands.js')).serverCommand(cmd, rest);
    if (isOneOf(clientCommands, cmd)) return await (await import('./client-commands.js')).clientCommand(cmd, rest);
    throw new UsageError(`unknown command "${cmd}"`);
  } catch (err) {
    if (err instanceof UsageError) { process.stderr.write(`dhp: ${err.message}\nRun "dhp help" for usage.\n`); return EXIT.usage; }
    if (err instanceof ConfigError) { process.stderr.write(`dhp: ${err.message}\n`); return EXIT.usage; }
    process.stderr.write(`dhp: ${(err as Error).message}\n`);
    return err instanceof CliError ? err.exitCode : EXIT.failed;
  }
}
