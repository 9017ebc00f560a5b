/** Starting servers on free loopback ports, again with other ports when one was taken before the server bound it. */
import { freePorts } from './etcd.js';

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
