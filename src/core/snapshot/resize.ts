/**
 * What a snapshot does when the shard range changes (a transition starts or ends): keys beyond the new range become
 * malformed (a merge deletes its high shards first, so only strays remain), and malformed keys the new range covers
 * are read again from their kept value (when it was short enough to be kept whole).
 */
import type { Keyspace } from '../keyspace/keys.js';
import { decodeShardCount } from '../keyspace/shardCount.js';
import { utf8Length } from '../keyspace/valueBounds.js';
import { type Kv, type KvEvent, MALFORMED_RAW_KEEP, type MalformedEntry, type ShardEntry, type ShardLayout } from './snapshot.js';

/**
 * The layout after an event of `<prefix>/shard-count`: a valid record sets it; a malformed one changes nothing (it is
 * reported, and a running process keeps the last valid layout); a deleted one leaves the count where it was (a
 * running process cannot unlearn it) with nothing left to compare. Null when the event changes nothing (a replay).
 */
export function nextLayout(layout: ShardLayout, ev: KvEvent, tooBig: string | null): { layout: ShardLayout } | { malformed: string } | null {
  const rev = ev.type === 'put' ? ev.kv.modRevision : ev.modRevision;
  if (layout.source === 'record' && rev <= layout.modRevision) return null;
  if (ev.type === 'delete') return layout.source === 'configured' ? null : { layout: { ...layout, modRevision: 0, source: 'configured' } };
  const d = tooBig === null ? decodeShardCount(ev.kv.value) : { ok: false as const, reason: tooBig };
  if (!d.ok) return { malformed: d.reason };
  return { layout: { ...d.record, modRevision: rev, source: 'record' } };
}

/** The builder's state a resize works on. */
export interface RangeState {
  readonly keys: Keyspace;
  /** The builder's own copy of the shard array, resized in place. */
  readonly shards: (ShardEntry | undefined)[];
  /** The builder's own copy of a record map keyed by shard ID. */
  records(dir: 'migrations' | 'releaseRequests'): Map<number, { readonly modRevision: number }>;
  malformed(): readonly MalformedEntry[];
  markMalformed(kv: Kv, reason: string): void;
  /** Applies a put again under the new range. */
  reapply(kv: Kv): void;
}

export function resizeShardRange(old: number, slots: number, state: RangeState): void {
  const { keys, shards } = state;
  if (slots < old) {
    for (let id = slots; id < old; id++) {
      const e = shards[id];
      if (e !== undefined) state.markMalformed(strayKv(keys.shard(id), e.raw, e.modRevision), outOfRange(id, slots));
    }
    shards.length = slots;
    for (const dir of ['migrations', 'releaseRequests'] as const) {
      const map = state.records(dir);
      for (const [id, record] of map) {
        if (id < slots) continue;
        map.delete(id);
        const { modRevision, ...rest } = record;
        state.markMalformed(strayKv(dir === 'migrations' ? keys.migration(id) : keys.releaseRequest(id), JSON.stringify(rest), modRevision), outOfRange(id, slots));
      }
    }
    return;
  }
  for (let id = old; id < slots; id++) shards.push(undefined);
  for (const m of state.malformed()) {
    const kind = keys.classify(m.key, slots).kind;
    const complete = m.raw.length < MALFORMED_RAW_KEEP || utf8Length(m.raw) === m.size;
    if ((kind === 'shard' || kind === 'migration' || kind === 'release-request') && complete) state.reapply(strayKv(m.key, m.raw, m.modRevision));
  }
}

/** A key known only from a kept value (no lease, its creation unknown). */
function strayKv(key: string, value: string, modRevision: number): Kv {
  return { key, value, modRevision, createRevision: modRevision, lease: '0' };
}

function outOfRange(id: number, slots: number): string {
  return `shard ID ${id} is out of range [0, ${slots})`;
}
