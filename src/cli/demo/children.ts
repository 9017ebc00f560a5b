import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** A child process of the demo, with its output appended to a log file and the last lines kept for errors. */
export class DemoChild {
  readonly exited: Promise<void>;
  private done = false;
  private tail = '';

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        this.done = true;
        resolve();
      });
    });
    const keep = (chunk: Buffer): void => {
      this.tail = (this.tail + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  get running(): boolean {
    return !this.done;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  output(): string {
    return this.tail;
  }

  /** Asks politely, then insists after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (this.done) return;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, forced]);
    clearTimeout(timer);
    await this.exited;
  }

  killNow(): void {
    if (!this.done) this.child.kill('SIGKILL');
  }
}

/**
 * Spawns a child whose stdout and stderr go to `logFile` (and nowhere near the console), as another user when `user`
 * is given.
 */
export function spawnChild(
  name: string,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
  user?: { readonly uid: number; readonly gid: number },
): DemoChild {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...user });
  // A failed spawn reports through 'error' and then 'exit'; the demo sees it as an exited child.
  child.on('error', () => undefined);
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  child.once('exit', () => log.end());
  return new DemoChild(name, child);
}

/** Loopback ports that were free a moment ago (a start that finds one taken retries with new ports). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
