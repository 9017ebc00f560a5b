import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** Where the node's SQLite database lives, and what an operator should hear about it at start. */
export interface DatabaseFile {
  readonly path: string;
  /** True when `--db` was not set and the per-user default is used. */
  readonly isDefault: boolean;
}

const FOLDER = 'goverse';
/** File names stay far below the usual 255-byte limit; longer prefixes keep a readable head and a hash. */
const MAX_NAME = 200;

/**
 * The default database of a cluster: `<state home>/goverse/<prefix>.sqlite`, one file per cluster prefix, so two
 * clusters on one machine never share a file by default. The state home is XDG_STATE_HOME when it is an absolute
 * path (the XDG spec says to ignore a relative one), else `~/.local/state`: durable, per user, unlike the tmp
 * directory, which is wiped on reboot.
 */
export function defaultDatabasePath(prefix: string, env: Readonly<Record<string, string | undefined>>, home: string): string {
  const xdg = env.XDG_STATE_HOME;
  const stateHome = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.local', 'state');
  return join(stateHome, FOLDER, databaseFileName(prefix));
}

/**
 * `/goverse` -> `goverse.sqlite`, `/a/b` -> `a%2Fb.sqlite`: letters, digits, `.`, `_` and `-` are kept, every other
 * UTF-8 byte is %XX, so distinct prefixes get distinct names and none can leave the folder.
 */
export function databaseFileName(prefix: string): string {
  let name = '';
  for (const byte of Buffer.from(prefix.replace(/^\//, ''), 'utf8')) {
    const ch = String.fromCharCode(byte);
    name += /[A-Za-z0-9._-]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (name.length > MAX_NAME) name = `${name.slice(0, MAX_NAME - 17)}-${createHash('sha256').update(prefix).digest('hex').slice(0, 16)}`;
  return `${name}.sqlite`;
}

/**
 * The temporary directory that holds `path`, or null. Symbolic links are resolved where the directories exist
 * (macOS's /tmp is /private/tmp).
 */
export function temporaryDirectoryOf(path: string, tmpDirs: readonly string[]): string | null {
  const dir = realOrResolved(dirname(resolve(path)));
  for (const tmp of tmpDirs) {
    const rel = relative(realOrResolved(tmp), dir);
    if (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) return tmp;
  }
  return null;
}

/** Creates the default database's folder (and missing parents) 0700, and keeps the folder itself 0700. */
export function createPrivateFolder(path: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** The permission bits of an existing file that let other users read or write it, or null. */
export function openToOthers(path: string): number | null {
  try {
    const mode = statSync(path).mode & 0o777;
    return (mode & 0o077) === 0 ? null : mode;
  } catch {
    return null;
  }
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
