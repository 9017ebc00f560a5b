import type { Keyspace } from '../core/keyspace/keys.js';
import type { TxnCompare } from '../edge/etcd/client.js';

/**
 * `ModRevision(<prefix>/leader) == modRevision`. A leader's writes all carry it with the revision it won the election
 * with, so a deposed leader's writes fail in etcd; the election (on the revision seen) and the resignation (on the
 * won one) are CASes on it too. Built only by `leaderGuard`, so no compare on the leader key is written by hand.
 */
export interface LeaderGuard extends TxnCompare {
  readonly kind: 'leader-guard';
}

export function leaderGuard(keys: Keyspace, modRevision: number): LeaderGuard {
  return { kind: 'leader-guard', key: keys.leader, modRevision };
}
