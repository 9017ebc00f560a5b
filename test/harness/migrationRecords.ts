/**
 * The bound every migration record keeps (docs/ARCHITECTURE.md, "Migration records"): it is put under a lease whose
 * TTL is at most its writer's stuck timeout, so it outlives its migration by at most that timeout; a leader of ours
 * renews the lease of the records it holds and deletes them when their migrations end.
 */
import { classifyMigration } from '../../src/core/planner/stuck.js';
import type { ClusterSnapshot } from '../../src/core/snapshot/snapshot.js';
import { waitFor } from './waitFor.js';

/** A record whose migration is over: its shard is settled, or migrates to another target. */
export interface EndedRecord {
  readonly shardId: number;
  readonly since: number;
  readonly target: string;
  readonly lease: string;
}

/** The records in `snap` whose migrations are over. */
export function endedRecords(snap: ClusterSnapshot): EndedRecord[] {
  const alive = new Set(snap.nodes.keys());
  return [...snap.migrations]
    .filter(([id, r]) => {
      const shard = snap.shards[id];
      return shard === undefined || classifyMigration(shard, alive) === null || shard.target !== r.target;
    })
    .map(([shardId, r]) => ({ shardId, since: r.since, target: r.target, lease: r.lease }));
}

/** A lease's remaining TTL in seconds (rounded down by etcd), from etcd's JSON gateway; null when it is gone. */
export async function leaseRemainingSeconds(endpoint: string, lease: string): Promise<number | null> {
  const res = await fetch(`http://${endpoint}/v3/lease/timetolive`, { method: 'POST', body: JSON.stringify({ ID: lease }) });
  if (res.status !== 200) throw new Error(`etcd lease timetolive ${lease}: HTTP ${res.status} ${await res.text()}`);
  const ttl = Number(((await res.json()) as { TTL?: string }).TTL ?? -1);
  return ttl < 0 ? null : ttl;
}

/**
 * Why `r` could outlive its migration by more than `stuckTimeoutMs`, or null when it cannot: a record without a lease
 * never expires; one whose lease runs past `since` + the stuck timeout is held by a renewed lease, which only a
 * leader of ours uses, and it deletes the records of ended migrations (callers wait for that).
 */
export async function beyondBound(endpoint: string, r: EndedRecord, stuckTimeoutMs: number, now = Date.now()): Promise<string | null> {
  if (r.lease === '0') return `shard ${r.shardId}: record without a lease`;
  const remaining = await leaseRemainingSeconds(endpoint, r.lease);
  if (remaining === null) return null; // expired just now
  // Its start is the write that put it under its lease (an instant before the grant); 1.5 s for the reading's rounding.
  const allowedMs = r.since + stuckTimeoutMs - now + 1500;
  return remaining * 1000 <= allowedMs ? null : `shard ${r.shardId}: lease ${r.lease} runs ${remaining} s more, past since + ${stuckTimeoutMs} ms`;
}

/**
 * After a scenario: every record of an ended migration expires within the stuck timeout of its start (its lease
 * says so), or is deleted within `graceMs` (a leader of ours collects it). Resolves with the ended records left.
 */
export async function expectRecordsBounded(
  read: () => Promise<ClusterSnapshot>,
  endpoint: string,
  stuckTimeoutMs: number,
  graceMs = 10_000,
): Promise<EndedRecord[]> {
  let problems: string[] = [];
  let ended: EndedRecord[] = [];
  await waitFor(
    'every migration record of an ended migration to be bounded by its lease or deleted',
    async () => {
      ended = endedRecords(await read());
      problems = (await Promise.all(ended.map((r) => beyondBound(endpoint, r, stuckTimeoutMs)))).filter((p) => p !== null);
      return problems.length === 0;
    },
    { timeoutMs: graceMs, intervalMs: 250, describe: () => problems.join('; ') },
  );
  return ended;
}

/** Waits until no record of an ended migration is left: each expires at the latest `stuckTimeoutMs` after its start. */
export async function waitEndedRecordsGone(read: () => Promise<ClusterSnapshot>, stuckTimeoutMs: number): Promise<void> {
  const ended = endedRecords(await read());
  const lastExpiry = Math.max(Date.now(), ...ended.map((r) => r.since + stuckTimeoutMs));
  let left: EndedRecord[] = ended;
  await waitFor(
    'every migration record of an ended migration to be gone',
    async () => {
      left = endedRecords(await read());
      return left.length === 0;
    },
    { timeoutMs: lastExpiry - Date.now() + 5_000, intervalMs: 250, describe: () => JSON.stringify(left) },
  );
}
