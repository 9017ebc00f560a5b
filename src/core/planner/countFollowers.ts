/**
 * Members that cannot follow a change of the shard count (docs/RESHARDING.md §3): an upstream node (no nodeinfo), an
 * upstream gate, a goverse-node without the capability (`reshard: 1` missing from its nodeinfo: an older version), or
 * one whose nodeinfo advertises a count that is neither the count in force nor, during a transition, its other count.
 * Such a member routes with a count the cluster may no longer use: it gets no shards once the count changes, and a
 * reshard is refused while it is a member.
 */
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import { compareAddresses, countChanging, followsShardCount } from './context.js';

export type CannotFollowReason = 'upstream-node' | 'upstream-gate' | 'no-capability' | 'other-count';

export interface CannotFollow {
  readonly address: string;
  readonly kind: 'node' | 'gate';
  readonly reason: CannotFollowReason;
  /** The count the member advertises (null when it advertises none). */
  readonly advertised: number | null;
}

/** Alive members (nodes, then gates, each byte-wise sorted) that cannot follow the shard count, with why. */
export function cannotFollowCount(snapshot: ClusterSnapshot): CannotFollow[] {
  const out: CannotFollow[] = [];
  const { count, transition } = snapshot.layout;
  for (const address of [...snapshot.nodes.keys()].sort(compareAddresses)) {
    const info = snapshot.nodeInfo.get(address);
    const advertised = info?.shardCount ?? null;
    if (info === undefined) out.push({ address, kind: 'node', reason: 'upstream-node', advertised });
    else if (!followsShardCount(snapshot, address)) out.push({ address, kind: 'node', reason: 'no-capability', advertised });
    else if (advertised !== null && advertised !== count && advertised !== transition?.to) out.push({ address, kind: 'node', reason: 'other-count', advertised });
  }
  for (const address of [...snapshot.gates.keys()].sort(compareAddresses)) out.push({ address, kind: 'gate', reason: 'upstream-gate', advertised: null });
  return out;
}

/**
 * Whether those members matter now: the count is changing or has changed (they get no shards), or one advertises
 * another count (it routes wrongly). Before any reshard, upstream members only stand in the way of starting one.
 */
export function cannotFollowMatters(snapshot: ClusterSnapshot, members: readonly CannotFollow[]): boolean {
  return members.length > 0 && (countChanging(snapshot) || members.some((m) => m.reason === 'other-count'));
}

/** Why, in words, for tables and the console. */
export function cannotFollowText(m: CannotFollow): string {
  switch (m.reason) {
    case 'upstream-node':
      return 'upstream node (no nodeinfo)';
    case 'upstream-gate':
      return 'upstream gate';
    case 'no-capability':
      return 'older goverse-node (no reshard capability)';
    case 'other-count':
      return `advertises ${m.advertised} shards`;
  }
}
