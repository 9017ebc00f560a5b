/** Starting servers on free loopback ports, again with other ports when one was taken before the server bound it. */
import { freePorts } from './etcd.js';
import type { ManagedProcess } from './processes.js';
import { waitFor } from './waitFor.js';

/** The server could not bind a port it was given: another process took it after it was picked as free. */
export class PortClashError extends Error {}

/** Picks `count` free ports and runs `start` with them; on a PortClashError, picks new ports (up to `attempts`). */
export async function onFreePorts<T>(count: number, start: (ports: number[]) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(count);
    try {
      return await start(ports);
    } catch (err) {
      if (!(err instanceof PortClashError) || attempt >= attempts) throw err;
    }
  }
}

/**
 * Waits until a just-started server is `ready`. If it exits first: a PortClashError when its output says a port was
 * taken, else an error with its output. At the deadline it is killed and the error says what it printed.
 */
export async function waitServerReady(
  what: string,
  proc: ManagedProcess,
  ready: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const outcome = await waitFor(`${what} ready`, async () => (proc.running ? (await ready()) && 'ready' : 'exited'), {
    timeoutMs,
    intervalMs: 20,
    describe: () => proc.output().slice(-2000),
  }).catch(async (err: unknown) => {
    await proc.kill();
    throw err;
  });
  if (outcome === 'exited') {
    const out = proc.output();
    if (/address already in use/i.test(out)) throw new PortClashError(out);
    throw new Error(`${what} exited during start-up; output:\n${out}`);
  }
}
