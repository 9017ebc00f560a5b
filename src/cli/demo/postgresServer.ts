import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import pg from 'pg';
import { NotFoundError, UnavailableError } from '../../core/errors.js';
import { type DemoChild, freePorts, spawnChild } from './children.js';

const DEBIAN_DIR = '/usr/lib/postgresql';

export const POSTGRES_INSTALL_HINT =
  'install PostgreSQL (Debian/Ubuntu: `sudo apt-get install postgresql`; the README\'s demo command does it for you) ' +
  'or set GOVERSE_PG_BIN_DIR to the directory holding initdb and postgres';

/**
 * The directory holding initdb and postgres: GOVERSE_PG_BIN_DIR, else the one initdb on PATH resolves to, else the
 * newest version under /usr/lib/postgresql (Debian keeps the server programs off PATH).
 */
export function postgresBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.GOVERSE_PG_BIN_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const initdb = join(dir, 'initdb');
    if (dir !== '' && existsSync(initdb)) return dirname(realpathSync(initdb));
  }
  const versions = existsSync(DEBIAN_DIR)
    ? readdirSync(DEBIAN_DIR)
        .filter((v) => existsSync(join(DEBIAN_DIR, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] === undefined) throw new NotFoundError(`PostgreSQL server programs (initdb) not found; ${POSTGRES_INSTALL_HINT}`);
  return join(DEBIAN_DIR, versions[0], 'bin');
}

export interface DemoPostgres {
  readonly child: DemoChild;
  /** Without the password, which the nodes get in GOVERSE_POSTGRES_PASSWORD. */
  readonly url: string;
  readonly password: string;
}

/** initdb and postgres refuse to run as root: a root demo runs them as `nobody`, which owns their dir. */
interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

function runAs(): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'nobody'], { stdio: 'pipe' }).toString());
  return { uid: id('-u'), gid: id('-g') };
}

const USER = 'goverse';
const DATABASE = 'goverse';
const START_TIMEOUT_MS = 30_000;

/**
 * A private PostgreSQL server for the demo: initdb in `dir` (a directory of its own, removed by the demo), a free
 * loopback port, password authentication, a `goverse` database. Stopped (SIGTERM: a smart shutdown, then SIGKILL)
 * with the demo's other children.
 */
export async function startDemoPostgres(dir: string, onChild: (child: DemoChild) => void): Promise<DemoPostgres> {
  const bin = postgresBinDir();
  const owner = runAs();
  if (owner !== null) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner !== null) chownSync(pwfile, owner.uid, owner.gid);
  const initArgs = ['-D', data, `--username=${USER}`, `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '--encoding=UTF8', '--locale=C'];
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(join(bin, 'initdb'), initArgs, { ...owner, timeout: START_TIMEOUT_MS }, (err, _stdout, stderr) => {
        if (err === null) resolve();
        else reject(new UnavailableError(`the demo PostgreSQL's initdb (${bin}) failed: ${stderr.trim() || err.message}`));
      });
    });
  } finally {
    rmSync(pwfile, { force: true });
  }
  const [port] = await freePorts(1);
  const args = ['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir];
  const child = spawnChild('postgres', join(bin, 'postgres'), args, process.env, join(dir, 'postgres.log'), owner ?? undefined);
  onChild(child);
  await waitAcceptingConnections(child, join(data, 'postmaster.pid'));
  const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, password, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  return { child, url: `postgres://${USER}@127.0.0.1:${port}/${DATABASE}`, password };
}

/** postmaster.pid's 8th line is the server's status, `ready` once it accepts connections. */
async function waitAcceptingConnections(child: DemoChild, pidFile: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (child.running && Date.now() < deadline) {
    if (existsSync(pidFile) && readFileSync(pidFile, 'utf8').split('\n')[7]?.trim() === 'ready') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await child.stop(3000);
  throw new UnavailableError(`the demo PostgreSQL did not start; its output:\n${child.output().slice(-1500)}`);
}
