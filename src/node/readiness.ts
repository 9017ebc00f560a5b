import type { Readiness } from '../cluster/member.js';
import type { StoreHealth } from './persistence/monitoredObjectStore.js';

/** The cluster member's readiness, and the object store's health: a node whose writes keep failing is not ready. */
export interface NodeReadiness extends Readiness {
  readonly storage: StoreHealth;
}

export function nodeReadiness(member: Readiness, storage: StoreHealth): NodeReadiness {
  if (storage.kind === 'ok') return { ...member, storage };
  const reason = `object store failing since ${new Date(storage.since).toISOString()}: ${storage.op} ${storage.code} (${storage.failures} failure${storage.failures === 1 ? '' : 's'})`;
  return { ...member, ready: false, reasons: [...member.reasons, reason], storage };
}
