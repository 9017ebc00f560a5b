/** Waiting for a started process to register in etcd, for every kind of member the harness starts. */
import type { EtcdClient } from '../../src/edge/etcd/client.js';
import type { ManagedProcess } from './processes.js';
import { waitFor } from './waitFor.js';

/** Resolves once `key` exists; fails at once, with the process's last output, if it exits first. */
export async function waitRegistered(client: EtcdClient, key: string, proc: ManagedProcess, name: string): Promise<void> {
  // An exit ends the wait at once (a throwing check would only count as "not yet" until the deadline).
  const outcome = await waitFor(`${name} registered (${key})`, async () => {
    if (!proc.running) return 'exited';
    return (await client.get(key)) !== null && 'registered';
  }, { timeoutMs: 20_000, intervalMs: 25 });
  if (outcome === 'exited') throw new Error(`${name} exited: ${proc.output().slice(-2000)}`);
}
