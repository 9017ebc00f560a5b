/**
 * Every child process and temp dir a test starts goes through this registry, so that nothing outlives the run:
 * - in-process: an exit/signal hook kills the children of this worker and removes its dirs;
 * - across processes: each entry is also a file under REGISTRY_DIR naming its owner (the test worker's pid), so
 *   globalSetup can kill and remove what a crashed worker (or a crashed earlier run) left behind.
 * Generic: etcd, goverse-node or any other command.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_DIR = join(tmpdir(), 'goverse-test-registry');

/** Fast fsync for etcd: tmpfs when the machine has it. */
export const SCRATCH_BASE = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

type RegistryEntry =
  | { readonly kind: 'process'; readonly owner: number; readonly pid: number; readonly command: string; readonly name: string }
  | { readonly kind: 'dir'; readonly owner: number; readonly path: string };

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** stdout and stderr are appended here (and the last lines kept in memory for error messages). */
  readonly logFile?: string;
  /** Run as this user and group (the test process must be root), e.g. for servers that refuse to run as root. */
  readonly uid?: number;
  readonly gid?: number;
}

const OUTPUT_TAIL_BYTES = 8192;

/** A child process started through the registry. */
export class ManagedProcess {
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | null = null;
  private tail = '';

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    private readonly entryFile: string,
  ) {
    if (child.pid === undefined) throw new Error(`${name}: spawn failed (no pid)`);
    this.pid = child.pid;
    const keep = (chunk: Buffer): void => {
      this.tail = (this.tail + chunk.toString()).slice(-OUTPUT_TAIL_BYTES);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        removeFile(this.entryFile);
        resolve(this.exitInfo);
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** The last few KB of the process's output, for error messages. */
  output(): string {
    return this.tail;
  }

  /** Sends `signal` and waits for the exit; escalates to SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<ExitInfo> {
    if (this.exitInfo !== null) return this.exitInfo;
    this.child.kill(signal);
    if (signal === 'SIGKILL') return this.exited;
    let timer: NodeJS.Timeout | undefined;
    const escalate = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, escalate]);
    clearTimeout(timer);
    return this.exited;
  }

  kill(): Promise<ExitInfo> {
    return this.stop('SIGKILL');
  }
}

const live = new Set<ManagedProcess>();
const liveDirs = new Map<string, string>();
let sequence = 0;
let hooksInstalled = false;

export function spawnManaged(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): ManagedProcess {
  installHooks();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    uid: options.uid,
    gid: options.gid,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Without a pid the spawn failed (ENOENT...); the 'error' event must not crash the worker either way.
  child.on('error', () => undefined);
  if (child.pid === undefined) throw new Error(`${name}: cannot start ${command} (not found or not executable)`);
  if (options.logFile !== undefined) {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.once('exit', () => log.end());
  }
  const entryFile = register({ kind: 'process', owner: process.pid, pid: child.pid, command, name });
  const proc = new ManagedProcess(name, child, entryFile);
  live.add(proc);
  return proc;
}

/** A temp dir under SCRATCH_BASE removed when the test worker exits (or by the next sweep after a crash). */
export function managedTempDir(label: string, base: string = SCRATCH_BASE): string {
  installHooks();
  const path = mkdtempSync(join(base, `goverse-test-${label}-`));
  liveDirs.set(path, register({ kind: 'dir', owner: process.pid, path }));
  return path;
}

export function removeManagedDir(path: string): void {
  rmSync(path, { recursive: true, force: true });
  const entry = liveDirs.get(path);
  if (entry !== undefined) removeFile(entry);
  liveDirs.delete(path);
}

/** Kills every process this worker started (SIGKILL, synchronous) and removes its dirs. */
export function killAllNow(): void {
  for (const proc of live) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const path of [...liveDirs.keys()]) removeManagedDir(path);
}

/**
 * Kills processes and removes dirs whose owner is no longer alive (a crashed worker or an earlier run).
 * Entries of live owners belong to a concurrent run and are left alone. Returns what it cleaned.
 */
export function sweepOrphans(): { killed: number; removedDirs: number } {
  let killed = 0;
  let removedDirs = 0;
  if (!existsSync(REGISTRY_DIR)) return { killed, removedDirs };
  for (const file of readdirSync(REGISTRY_DIR)) {
    const path = join(REGISTRY_DIR, file);
    let entry: RegistryEntry;
    try {
      entry = JSON.parse(readFileSync(path, 'utf8')) as RegistryEntry;
    } catch {
      removeFile(path);
      continue;
    }
    if (isAlive(entry.owner)) continue;
    if (entry.kind === 'process') {
      // The pid may have been reused: only kill a process that still runs the recorded command.
      if (isAlive(entry.pid) && commandOf(entry.pid)?.includes(entry.command)) {
        try {
          process.kill(entry.pid, 'SIGKILL');
          killed++;
        } catch {
          // exited meanwhile
        }
      }
    } else if (existsSync(entry.path)) {
      rmSync(entry.path, { recursive: true, force: true });
      removedDirs++;
    }
    removeFile(path);
  }
  return { killed, removedDirs };
}

/** Live processes whose command line contains `text` (a data dir or config path: what a leftover server shows). */
export function pidsWithCommandLine(text: string): number[] {
  return livePids().filter((pid) => commandOf(pid)?.includes(text) === true);
}

/** Live processes whose parent is `pid`. */
export function childPids(pid: number): number[] {
  return livePids().filter((p) => parentOf(p) === pid);
}

function livePids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => p !== process.pid);
}

function parentOf(pid: number): number | null {
  try {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

function register(entry: RegistryEntry): string {
  mkdirSync(REGISTRY_DIR, { recursive: true });
  const file = join(REGISTRY_DIR, `${process.pid}-${++sequence}-${entry.kind}.json`);
  writeFileSync(file, JSON.stringify(entry));
  return file;
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already removed
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return null;
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllNow();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}
