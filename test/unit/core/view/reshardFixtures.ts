/** Views of a cluster during a shard-count transition, built from etcd-like key-values as the watcher would see them. */
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { encodeShardCount, type ReshardKind, type ReshardState } from '../../../../src/core/keyspace/shardCount.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import { buildSnapshot, type Kv } from '../../../../src/core/snapshot/snapshot.js';
import { buildClusterView, type ClusterView } from '../../../../src/core/view/index.js';
import { kv, N1, N2, NOW, P } from '../../console/fixtures.js';

export const GATE = '10.0.0.9:7100';

/** Nodeinfo of a goverse-node that follows the record (`reshard: 1`) and serves with `count`. */
export function followerInfo(address: string, count: number): Kv {
  return kv(
    `${P}/nodeinfo/${address}`,
    encodeRecord({ nodeId: address, opsUrl: '', apiUrl: `http://${address}`, version: '1', weight: 1, startedAt: 0, state: 'running', reshard: 1, shardCount: count }),
    '1',
  );
}

export interface TransitionSpec {
  /** The count in force (`from`). */
  readonly count: number;
  readonly kind: ReshardKind | null;
  readonly state?: ReshardState;
  /** Shard IDs whose key exists, each owned by N1 (even) or N2 (odd). */
  readonly shards: readonly number[];
  /** Extra members and records. */
  readonly extra?: readonly Kv[];
  readonly reshards?: number;
}

/** N1 and N2 (goverse-nodes serving `count`, N1 leads) and the record with the transition, started 2 minutes ago. */
export function transitionView(spec: TransitionSpec): ClusterView {
  const { count, kind } = spec;
  const to = kind === null ? count : kind === 'split' ? count * 2 : count / 2;
  const transition = kind === null ? null : { kind, from: count, to, state: spec.state ?? 'running', startedAt: NOW - 120_000, by: 'alice@ops', id: 't1' };
  const kvs: Kv[] = [
    kv(`${P}/shard-count`, encodeShardCount({ count, transition, reshards: spec.reshards ?? 0 })),
    kv(`${P}/nodes/${N1}`, N1, '1'),
    kv(`${P}/nodes/${N2}`, N2, '1'),
    followerInfo(N1, count),
    followerInfo(N2, count),
    kv(`${P}/leader`, N1),
    ...spec.shards.map((id) => {
      const n = id % 2 === 0 ? N1 : N2;
      return kv(`${P}/shard/${id}`, `${n},${n}`);
    }),
    ...(spec.extra ?? []),
  ];
  // The configured count is the default's stand-in: the record decides.
  const snapshot = buildSnapshot(P, count, kvs, 100);
  return buildClusterView({ snapshot, now: NOW, stuckTimeoutMs: 60_000, balancer: { strategy: 'count', settings: defaultPlannerSettings(snapshot.numShards) } });
}

export const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

