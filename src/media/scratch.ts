import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/** `<name>-<pid>-<6 random characters from mkdtemp>`; the pid says which process may still use it. */
const FOLDER = /^(.+)-(\d+)-([A-Za-z0-9]{6})$/;

/**
 * Scratch folders under one root. Each folder is made by mkdtemp, so two jobs
 * (or two uploads in the same millisecond) never share one, and carries its
 * owner's pid, so a later process can tell a killed attempt's leftovers from a
 * folder another live process is still writing.
 */
export class ScratchFolders {
  /** Folders this process is using now. */
  private readonly live = new Set<string>();

  constructor(private readonly root: string, private readonly pid = process.pid) {}

  /** A new, empty folder for `name`; release it with `release`. */
  async make(name: string): Promise<string> {
    await mkdir(this.root, { recursive: true });
    const dir = await mkdtemp(path.join(this.root, `${safeName(name)}-${this.pid}-`));
    this.live.add(dir);
    return dir;
  }

  async release(dir: string): Promise<void> {
    try {
      await rm(dir, { recursive: true, force: true });
    } finally {
      this.live.delete(dir);
    }
  }

  /**
   * Removes folders no live process uses. With `name`, that job's folders left by
   * processes that are gone (a retry clearing its killed attempt's). Without, the
   * start sweep: every folder of a process that is gone, and this process's own
   * too (a pid reused after a restart, as pid 1 is in every container); run it
   * before this process makes any folder, since mkdtemp's folder exists on disk
   * a moment before `make` records it. Returns the names removed.
   */
  async removeStale(name?: string): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const removed: string[] = [];
    for (const entry of entries) {
      const m = FOLDER.exec(entry);
      if (name !== undefined && m?.[1] !== safeName(name)) continue;
      const full = path.join(this.root, entry);
      // Folders of an older naming scheme carry no pid we can trust: only a start sweep takes them.
      const stale = m ? this.isStale(Number(m[2]), full, name === undefined) : name === undefined;
      if (!stale) continue;
      await rm(full, { recursive: true, force: true });
      removed.push(entry);
    }
    return removed;
  }

  private isStale(pid: number, full: string, ownToo: boolean): boolean {
    if (pid === this.pid) return ownToo && !this.live.has(full);
    return !processAlive(pid);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it may be a dhp process under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Job names are ours ("video-12"); keep them to characters that are safe in a file name anyway. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}
