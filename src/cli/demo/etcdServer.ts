import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { NotFoundError, UnavailableError } from '../../core/errors.js';
import { type DemoChild, freePorts, spawnChild } from './children.js';

export const ETCD_INSTALL_HINT =
  'install etcd (Debian/Ubuntu: `sudo apt-get install etcd-server`; the README\'s demo command does it for you) ' +
  'or set GOVERSE_ETCD_BIN to an etcd binary';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** GOVERSE_ETCD_BIN when set, else `etcd` on PATH; a clear NotFoundError with the install hint otherwise. */
export function findEtcdBinary(env: NodeJS.ProcessEnv): string {
  const configured = env.GOVERSE_ETCD_BIN;
  if (configured !== undefined && configured !== '') {
    if (executable(configured)) return configured;
    throw new NotFoundError(`GOVERSE_ETCD_BIN=${configured} is not an executable file; ${ETCD_INSTALL_HINT}`);
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, 'etcd'))) return join(dir, 'etcd');
  }
  throw new NotFoundError(`etcd is not on PATH; ${ETCD_INSTALL_HINT}`);
}

export interface DemoEtcd {
  readonly child: DemoChild;
  readonly endpoint: string;
}

const START_TIMEOUT_MS = 20_000;

/**
 * A private single-member etcd on free loopback ports with its data in `dir`, tuned to start in a blink
 * (millisecond heartbeats are fine on loopback). Retries with new ports when one was taken in the meantime.
 */
export async function startDemoEtcd(binary: string, dir: string, onChild: (child: DemoChild) => void): Promise<DemoEtcd> {
  for (let attempt = 1; ; attempt++) {
    const [clientPort, peerPort] = await freePorts(2);
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const child = spawnChild(
      'etcd',
      binary,
      [
        '--name=demo',
        `--data-dir=${join(dir, `etcd-${attempt}`)}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=demo=${peer}`,
        '--heartbeat-interval=10',
        '--election-timeout=100',
        '--log-level=warn',
      ],
      process.env,
      join(dir, 'etcd.log'),
    );
    onChild(child);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (child.running && Date.now() < deadline) {
      if (await healthy(client)) return { child, endpoint: `127.0.0.1:${clientPort}` };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await child.stop(1000);
    if (/address already in use/.test(child.output()) && attempt < 3) continue;
    throw new UnavailableError(`the demo etcd (${binary}) did not become healthy; its output:\n${child.output().slice(-1500)}`);
  }
}

async function healthy(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}
