/**
 * The history as its readers hold it, pure: entries decoded once as they arrive (a list, then watch events), in ID
 * order, the newest `limit` kept; malformed ones reported like every malformed key. The console also adds the moves
 * it observes under an upstream leader, marked observed (they are never stored).
 */
import type { Keyspace } from '../keyspace/keys.js';
import { HISTORY_VALUE_BOUND, oversizeReason, utf8Length } from '../keyspace/valueBounds.js';
import { type ClusterChange, type Kv, type KvEvent, MALFORMED_RAW_KEEP, type MalformedEntry } from '../snapshot/snapshot.js';
import { decodeHistoryEntry, encodeHistoryEntry, type HistoryDraft, type HistoryEntry, historyId } from './entry.js';

/** What a history reader receives: a whole list (at start, or again after the watch was lost), or watch events. */
export type HistoryUpdate = { readonly kind: 'reset'; readonly kvs: readonly Kv[] } | { readonly kind: 'events'; readonly events: readonly KvEvent[] };

/** A stored entry, or why the value under `history/` is not one. */
export function decodeHistoryKv(keys: Keyspace, kv: Kv): { readonly entry: HistoryEntry } | { readonly malformed: MalformedEntry } {
  const tooBig = oversizeReason(kv.value, HISTORY_VALUE_BOUND);
  const d = tooBig === null ? decodeHistoryEntry(kv.key.slice(keys.historyRoot.length), kv.value) : { ok: false as const, reason: tooBig };
  if (d.ok) return { entry: d.record };
  const raw = kv.value.length > MALFORMED_RAW_KEEP ? kv.value.slice(0, MALFORMED_RAW_KEEP) : kv.value;
  return { malformed: { key: kv.key, raw, size: utf8Length(kv.value), modRevision: kv.modRevision, reason: d.reason } };
}

export class HistoryTimeline {
  /** Bumped on every change, so views derived from the entries are rebuilt only when it moves. */
  version = 0;
  /** Oldest first. */
  private list: HistoryEntry[] = [];
  private readonly bad = new Map<string, MalformedEntry>();
  private observed = 0;

  constructor(
    private readonly keys: Keyspace,
    /** Newest entries kept. */
    private readonly limit: number,
  ) {}

  /** Oldest first. */
  get entries(): readonly HistoryEntry[] {
    return this.list;
  }

  get malformed(): ReadonlyMap<string, MalformedEntry> {
    return this.bad;
  }

  /** Applies a list or watch events; returns the entries that were new, oldest first. */
  apply(update: HistoryUpdate): HistoryEntry[] {
    const added: HistoryEntry[] = [];
    if (update.kind === 'reset') {
      const known = new Set(this.list.map((e) => e.id));
      this.list = this.list.filter((e) => e.source === 'observed');
      this.bad.clear();
      for (const kv of update.kvs) this.put(kv, known, added);
    } else {
      for (const ev of update.events) {
        if (ev.type === 'put') this.put(ev.kv, null, added);
        else this.remove(ev.key);
      }
    }
    this.trim();
    this.version++;
    return added;
  }

  /** What the console saw happen that no stored entry records (moves under an upstream leader); never stored. */
  observe(draft: HistoryDraft): void {
    const id = historyId(draft.at, `o${(this.observed++).toString(36)}`);
    const d = decodeHistoryEntry(id, encodeHistoryEntry({ ...draft, source: 'observed' }));
    if (!d.ok) return;
    this.insert(d.record);
    this.trim();
    this.version++;
  }

  private put(kv: Kv, known: ReadonlySet<string> | null, added: HistoryEntry[]): void {
    const d = decodeHistoryKv(this.keys, kv);
    if ('malformed' in d) {
      this.remove(kv.key);
      this.bad.set(kv.key, d.malformed);
      return;
    }
    this.bad.delete(kv.key);
    if (this.insert(d.entry) && !(known?.has(d.entry.id) ?? false)) added.push(d.entry);
  }

  /** Inserts in ID order (new entries almost always go last); false when the ID was there already (replaced). */
  private insert(entry: HistoryEntry): boolean {
    const i = this.indexOf(entry.id);
    if (this.list[i]?.id === entry.id) {
      this.list[i] = entry;
      return false;
    }
    this.list.splice(i, 0, entry);
    return true;
  }

  private remove(key: string): void {
    this.bad.delete(key);
    const id = key.slice(this.keys.historyRoot.length);
    const i = this.indexOf(id);
    if (this.list[i]?.id === id) this.list.splice(i, 1);
  }

  /** The first index whose ID is not below `id`. */
  private indexOf(id: string): number {
    const last = this.list[this.list.length - 1];
    if (last === undefined || last.id < id) return this.list.length;
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.list[mid]!.id < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private trim(): void {
    if (this.list.length > this.limit) this.list.splice(0, this.list.length - this.limit);
  }
}

/** Actions whose move groups are moves made (a stuck entry's are moves pending). */
const MOVING: ReadonlySet<string> = new Set(['assign', 'rebalance', 'recover', 'reassign', 'drain', 'move']);

/**
 * Shards moved per minute over the `minutes` minutes up to `now`, oldest first (the last bucket is the minute under
 * way), from the entries' move groups.
 */
export function movesPerMinute(entries: readonly HistoryEntry[], now: number, minutes: number): number[] {
  const buckets = new Array<number>(minutes).fill(0);
  const end = Math.floor(now / 60_000);
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    const ago = end - Math.floor(e.at / 60_000);
    if (ago >= minutes) break;
    if (ago < 0 || !MOVING.has(e.action)) continue;
    buckets[minutes - 1 - ago]! += e.moves.reduce((n, m) => n + m.count, 0);
  }
  return buckets;
}

/**
 * The moves among a batch of shard changes (a new TargetNode), as the console records them under an upstream leader,
 * which writes no history: observed, never stored.
 */
export function observedMoves(changes: readonly ClusterChange[]): { shard: number; from: string; to: string }[] {
  const out: { shard: number; from: string; to: string }[] = [];
  for (const c of changes) {
    if (c.kind !== 'shard' || c.after === undefined) continue;
    const from = c.before?.target ?? '';
    if (from !== c.after.target) out.push({ shard: c.id, from, to: c.after.target });
  }
  return out;
}
