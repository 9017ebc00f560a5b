/**
 * What changed between two snapshots taken from separate full reads (a re-list after compaction, a wiped etcd or a
 * periodic resync). Pure; the change kinds and their meaning match what applyEvents reports for watch events,
 * so subscribers cannot tell a re-list from a burst of events.
 */
import { type ClusterChange, type ClusterSnapshot, leaderAddress } from './snapshot.js';

type WithRevision = { readonly modRevision: number };

function changedKeys<K>(
  before: ReadonlyMap<K, WithRevision>,
  after: ReadonlyMap<K, WithRevision>,
): K[] {
  const out: K[] = [];
  for (const [k, b] of before) if (after.get(k)?.modRevision !== b.modRevision) out.push(k);
  for (const k of after.keys()) if (!before.has(k)) out.push(k);
  return out;
}

const sameSingle = (a: WithRevision | null, b: WithRevision | null): boolean => a?.modRevision === b?.modRevision;

export function diffSnapshots(before: ClusterSnapshot, after: ClusterSnapshot): ClusterChange[] {
  const changes: ClusterChange[] = [];
  const n = Math.max(before.shards.length, after.shards.length);
  for (let id = 0; id < n; id++) {
    const b = before.shards[id];
    const a = after.shards[id];
    if (b?.modRevision !== a?.modRevision || b?.raw !== a?.raw) changes.push({ kind: 'shard', id, before: b, after: a });
  }
  for (const [map, joined, left] of [
    [[before.nodes, after.nodes], 'node-joined', 'node-left'],
    [[before.gates, after.gates], 'gate-joined', 'gate-left'],
  ] as const) {
    const [b, a] = map;
    for (const address of a.keys()) if (!b.has(address)) changes.push({ kind: joined, address });
    for (const address of b.keys()) if (!a.has(address)) changes.push({ kind: left, address });
  }
  const [leaderBefore, leaderAfter] = [leaderAddress(before.leader), leaderAddress(after.leader)];
  if (leaderBefore !== leaderAfter) changes.push({ kind: 'leader', before: leaderBefore, after: leaderAfter });
  for (const address of changedKeys(before.nodeInfo, after.nodeInfo)) changes.push({ kind: 'nodeinfo', address });
  for (const address of changedKeys(before.load, after.load)) changes.push({ kind: 'load', address });
  for (const address of changedKeys(before.drains, after.drains)) changes.push({ kind: 'drain', address });
  for (const shardId of changedKeys(before.migrations, after.migrations)) changes.push({ kind: 'migration', shardId });
  for (const shardId of changedKeys(before.releaseRequests, after.releaseRequests)) {
    changes.push({ kind: 'release-request', shardId });
  }
  if (!sameSingle(before.pause, after.pause)) changes.push({ kind: 'pause' });
  if (!sameSingle(before.balancer, after.balancer)) changes.push({ kind: 'balancer' });
  if (before.layout.modRevision !== after.layout.modRevision || before.numShards !== after.numShards) changes.push({ kind: 'shard-count' });
  for (const [key, b] of before.malformed) {
    const a = after.malformed.get(key);
    if (a?.raw !== b.raw || a?.reason !== b.reason) changes.push({ kind: 'malformed', key });
  }
  for (const key of after.malformed.keys()) if (!before.malformed.has(key)) changes.push({ kind: 'malformed', key });
  return changes;
}
