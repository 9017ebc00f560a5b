/**
 * A private PostgreSQL server for tests, from Debian's postgresql package (scripts/ensure-postgres.sh installs it):
 * initdb and postgres in a managed temp dir, on a free loopback port, password (SCRAM) authentication over TCP, and
 * a database for the test. initdb and postgres refuse to run as root: a root test process runs them as the system
 * user `goverse-test` (created on first use), which owns the temp dir. A stop (fast, or immediate: a crash that the
 * next start recovers from) keeps the data for a restart on the same port; close() removes everything. The process
 * registry kills the server if the test worker dies first (its children exit when they see the postmaster gone).
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { postgresBinDir } from '../../src/cli/demo/postgresServer.js';
import { onFreePorts, waitServerReady } from './ports.js';
import { type ManagedProcess, managedTempDir, removeManagedDir, spawnManaged } from './processes.js';
import { waitFor } from './waitFor.js';

/** The unprivileged system user that runs PostgreSQL when the tests run as root. */
export const POSTGRES_RUN_USER = 'goverse-test';
/** The database superuser the harness creates (and connects as). */
const SUPERUSER = 'goverse';
const START_TIMEOUT_MS = 30_000;

/**
 * Why tests that need a PostgreSQL server cannot run on this machine (its server programs are missing: `npm test`
 * installs them, a bare `npx vitest` does not), or null.
 */
export function postgresUnavailable(): string | null {
  try {
    const dir = postgresBinDir();
    return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')) ? null : `no initdb and postgres in ${dir}`;
  } catch (err) {
    return (err as Error).message;
  }
}

/** A PostgreSQL program (`psql`, `pg_dump`...) of the same installation as the server. */
export function postgresTool(name: string): string {
  return join(postgresBinDir(), name);
}

export interface PostgresOptions {
  /** The database created for the test; default `goverse`. */
  readonly database?: string;
  readonly label?: string;
  /** Where the server's directory is made; default the harness's scratch dir (tmpfs where the machine has it). */
  readonly baseDir?: string;
}

/** How a stop treats connected clients: `fast` disconnects them and checkpoints; `immediate` is a crash. */
export type PostgresStopMode = 'fast' | 'immediate';

export class PostgresServer {
  private proc: ManagedProcess | null = null;

  constructor(
    readonly port: number,
    /** Data dir, socket and log; removed by close(). */
    readonly dir: string,
    readonly database: string,
    readonly password: string,
    private readonly runAs: RunAs | null,
  ) {}

  /** The superuser the harness creates and connects as. */
  readonly user = SUPERUSER;

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** `postgres://goverse:<password>@127.0.0.1:<port>/<database>`. */
  get url(): string {
    return `postgres://${this.user}:${this.password}@127.0.0.1:${this.port}/${this.database}`;
  }

  /** The URL without its password, as a node is given it (the password goes in the environment). */
  get urlWithoutPassword(): string {
    return `postgres://${this.user}@127.0.0.1:${this.port}/${this.database}`;
  }

  /** The environment that keeps a goverse-node's objects in this database instead of its SQLite file. */
  nodeEnv(): Record<string, string> {
    return { GOVERSE_DB_PATH: '', GOVERSE_POSTGRES_URL: this.urlWithoutPassword, GOVERSE_POSTGRES_PASSWORD: this.password };
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** The postmaster's pid. */
  get pid(): number {
    if (this.proc === null || !this.proc.running) throw new Error('postgres is not running');
    return this.proc.pid;
  }

  /** Starts the server on its data dir and port and waits until it accepts connections. */
  async start(): Promise<void> {
    if (this.running) throw new Error('postgres is already running');
    const proc = spawnManaged(
      'postgres',
      join(postgresBinDir(), 'postgres'),
      ['-D', this.dataDir, '-h', '127.0.0.1', '-p', String(this.port), '-k', this.dir, '-c', 'logging_collector=off'],
      { logFile: join(this.dir, 'postgres.log'), ...this.runAs },
    );
    this.proc = proc;
    // postmaster.pid's 8th line is the server's status; `ready` once it accepts connections.
    const pidFile = join(this.dataDir, 'postmaster.pid');
    const ready = (): boolean => existsSync(pidFile) && readFileSync(pidFile, 'utf8').split('\n')[7]?.trim() === 'ready';
    await waitServerReady(`postgres on 127.0.0.1:${this.port}`, proc, ready, START_TIMEOUT_MS);
  }

  /** Stops the server (the data stays); waits until the postmaster and its children have exited. */
  async stop(mode: PostgresStopMode = 'fast'): Promise<void> {
    await this.proc?.stop(mode === 'fast' ? 'SIGINT' : 'SIGQUIT', 20_000);
  }

  /** Stops and starts again on the same data dir and port: the "database restart" fault. */
  async restart(mode: PostgresStopMode = 'fast'): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  /** Runs SQL with psql over TCP as the superuser; returns the unaligned, tuples-only output. */
  psql(sql: string, options: { database?: string } = {}): Promise<string> {
    const connection = ['-h', '127.0.0.1', '-p', String(this.port), '-U', this.user, '-d', options.database ?? this.database];
    const env = { ...process.env, PGPASSWORD: this.password };
    return new Promise((resolve, reject) => {
      execFile(postgresTool('psql'), ['-X', '-At', '-v', 'ON_ERROR_STOP=1', ...connection, '-c', sql], { env, timeout: 30_000 }, (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`psql ${JSON.stringify(sql)}: ${stderr.trim() || err.message}`));
        else resolve(stdout.trim());
      });
    });
  }

  /** Fast stop, then removes the data. */
  async close(): Promise<void> {
    await this.stop('fast');
    removeManagedDir(this.dir);
  }
}

/** initdb, start, create the database: a fresh server ready for connections at `url`. */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const database = options.database ?? 'goverse';
  const runAs = await runAsUser();
  return onFreePorts(1, async ([port]) => {
    const dir = managedTempDir(options.label ?? 'postgres', options.baseDir);
    const server = new PostgresServer(port!, dir, database, randomBytes(12).toString('hex'), runAs);
    try {
      if (runAs !== null) chownSync(dir, runAs.uid, runAs.gid);
      await initdb(server, runAs);
      await server.start();
      await server.psql(`CREATE DATABASE "${database}"`, { database: 'postgres' });
      return server;
    } catch (err) {
      await server.stop('immediate');
      removeManagedDir(dir);
      throw err;
    }
  });
}

interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

async function initdb(server: PostgresServer, runAs: RunAs | null): Promise<void> {
  const pwfile = join(server.dir, 'pwfile');
  writeFileSync(pwfile, `${server.password}\n`, { mode: 0o600 });
  if (runAs !== null) chownSync(pwfile, runAs.uid, runAs.gid);
  const args = [
    '-D',
    server.dataDir,
    `--username=${SUPERUSER}`,
    `--pwfile=${pwfile}`,
    '--auth-host=scram-sha-256',
    '--auth-local=trust',
    '--encoding=UTF8',
    '--locale=C',
    // A test cluster need not survive an OS crash during initdb; the server itself fsyncs as usual.
    '--no-sync',
  ];
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(join(postgresBinDir(), 'initdb'), args, { ...runAs, timeout: START_TIMEOUT_MS }, (err, _stdout, stderr) => {
        if (err !== null) reject(new Error(`initdb failed: ${stderr.trim() || err.message}`));
        else resolve();
      });
    });
  } finally {
    rmSync(pwfile, { force: true });
  }
}

let cachedRunAs: Promise<RunAs | null> | undefined;

/** Null when the tests do not run as root; else the unprivileged user, created when missing. */
function runAsUser(): Promise<RunAs | null> {
  if (process.getuid?.() !== 0) return Promise.resolve(null);
  // Another test worker may be creating it too: useradd then fails (name taken, or /etc/passwd locked) and the
  // next poll finds the user or tries again.
  cachedRunAs ??= waitFor(
    `the system user ${POSTGRES_RUN_USER} to run PostgreSQL (initdb refuses root)`,
    () => {
      const ids = userIds(POSTGRES_RUN_USER);
      if (ids !== null) return ids;
      const home = ['--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin'];
      execFileSync('useradd', ['--system', '--user-group', ...home, POSTGRES_RUN_USER], { stdio: 'pipe' });
      return userIds(POSTGRES_RUN_USER);
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  return cachedRunAs;
}

function userIds(name: string): RunAs | null {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { stdio: 'pipe' }).toString());
    const gid = Number(execFileSync('id', ['-g', name], { stdio: 'pipe' }).toString());
    return { uid, gid };
  } catch {
    return null;
  }
}
