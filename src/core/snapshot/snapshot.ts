import {
  type BalancerStatusRecord,
  type Decoded,
  type DrainRecord,
  decodeBalancerStatus,
  decodeDrain,
  decodeLoad,
  decodeMigration,
  decodeNodeInfo,
  decodePause,
  decodeReleaseRequest,
  type LoadRecord,
  type MigrationRecord,
  type NodeInfoRecord,
  type PauseRecord,
  type ReleaseRequestRecord,
} from '../keyspace/records.js';
import { Keyspace } from '../keyspace/keys.js';
import type { ShardCountTransition } from '../keyspace/shardCount.js';
import { slotCount } from '../sharding/layout.js';
import { nextLayout, resizeShardRange } from './resize.js';
import { memberAddressProblem } from '../keyspace/nodeAddress.js';
import { parseShardValue, type ShardValue } from '../keyspace/shardValue.js';
import { oversizeReason, utf8Length, valueBound } from '../keyspace/valueBounds.js';

/** A key-value pair as read from etcd (revisions as numbers: etcd revisions stay far below 2^53). */
export interface Kv {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
  readonly createRevision: number;
  /** Lease ID as a decimal string ('0' when the key has no lease); lease IDs use all 64 bits. */
  readonly lease: string;
}

export type KvEvent =
  | { readonly type: 'put'; readonly kv: Kv }
  | { readonly type: 'delete'; readonly key: string; readonly modRevision: number };

export interface ShardEntry extends ShardValue {
  readonly id: number;
  readonly modRevision: number;
  /** The value exactly as stored. */
  readonly raw: string;
  readonly warnings: readonly string[];
}

export interface MemberEntry {
  readonly address: string;
  readonly value: string;
  readonly modRevision: number;
  readonly createRevision: number;
  readonly lease: string;
}

export interface LeaderEntry {
  /** Empty when the key holds no valid address: nobody leads, but its ModRevision is what the election compares. */
  readonly address: string;
  readonly modRevision: number;
}

/** The address of the leader the key names, or null when there is no key or it names nobody. */
export function leaderAddress(leader: LeaderEntry | null): string | null {
  return leader === null || leader.address === '' ? null : leader.address;
}

/** How much of a malformed value a report keeps: enough to recognise it, never a whole huge value. */
export const MALFORMED_RAW_KEEP = 512;

/**
 * A key under the prefix that could not be decoded, or a member key that is not a live member: reported, never
 * thrown or logged, and never part of the cluster's state.
 */
export interface MalformedEntry {
  readonly key: string;
  /** The value, cut to MALFORMED_RAW_KEEP characters (see `size`). */
  readonly raw: string;
  /** The value's size in UTF-8 bytes. */
  readonly size: number;
  /** A CAS that replaces the value compares against it (see keyRevision). */
  readonly modRevision: number;
  readonly reason: string;
}

/**
 * The ModRevision a CAS replacing the record at `key` must compare: the decoded record's, else that of a malformed
 * value stored there (which the write repairs), else 0 (absent). Comparing 0 against a malformed value would lose
 * every time and be retried forever.
 */
export function keyRevision(snapshot: ClusterSnapshot, record: { readonly modRevision: number } | undefined, key: string): number {
  return record?.modRevision ?? snapshot.malformed.get(key)?.modRevision ?? 0;
}

export type Revisioned<T> = T & { readonly modRevision: number };
/** A record with the lease it was put under ('0': none), for records whose lifetime is their lease's. */
export type Leased<T> = Revisioned<T> & { readonly lease: string };

/** The shard count in force and the transition under way: `<prefix>/shard-count`, else the configured count. */
export interface ShardLayout {
  readonly count: number;
  readonly transition: ShardCountTransition | null;
  /** Completed transitions (the record's `reshards`). */
  readonly reshards: number;
  /** ModRevision of the record as last decoded; 0 when there is none (a CAS creating it compares 0). */
  readonly modRevision: number;
  readonly source: 'record' | 'configured';
}

/** An immutable view of one cluster's keyspace at one etcd revision. */
export interface ClusterSnapshot {
  readonly prefix: string;
  /**
   * How many shard IDs are valid (the length of `shards`): the count in force, or the larger count of a transition
   * (whose high shards exist only once their key does: see `core/snapshot/layout.ts`).
   */
  readonly numShards: number;
  readonly layout: ShardLayout;
  /** The etcd revision this snapshot reflects (0 before the first load). */
  readonly revision: number;
  /**
   * Live members: keys with a valid address, a lease, and the address as their value. Other member keys are in
   * `malformed`: they never receive shards and never count as a live owner.
   */
  readonly nodes: ReadonlyMap<string, MemberEntry>;
  readonly gates: ReadonlyMap<string, MemberEntry>;
  readonly leader: LeaderEntry | null;
  /** Indexed by shard ID; undefined where the key is absent. */
  readonly shards: readonly (ShardEntry | undefined)[];
  readonly nodeInfo: ReadonlyMap<string, Revisioned<NodeInfoRecord>>;
  readonly load: ReadonlyMap<string, Revisioned<LoadRecord>>;
  readonly drains: ReadonlyMap<string, Revisioned<DrainRecord>>;
  /** With their lease: a record outlives its migration by at most its lease's TTL (docs/ARCHITECTURE.md). */
  readonly migrations: ReadonlyMap<number, Leased<MigrationRecord>>;
  readonly releaseRequests: ReadonlyMap<number, Revisioned<ReleaseRequestRecord>>;
  readonly pause: Revisioned<PauseRecord> | null;
  readonly balancer: Revisioned<BalancerStatusRecord> | null;
  /** Keyed by etcd key, so a fix or delete of the key clears it. */
  readonly malformed: ReadonlyMap<string, MalformedEntry>;
}

/** What changed between two snapshots, one entry per affected record. */
export type ClusterChange =
  | { readonly kind: 'shard'; readonly id: number; readonly before: ShardEntry | undefined; readonly after: ShardEntry | undefined }
  | { readonly kind: 'node-joined' | 'node-left' | 'gate-joined' | 'gate-left'; readonly address: string }
  | { readonly kind: 'leader'; readonly before: string | null; readonly after: string | null }
  | { readonly kind: 'nodeinfo' | 'load' | 'drain'; readonly address: string }
  | { readonly kind: 'migration' | 'release-request'; readonly shardId: number }
  | { readonly kind: 'pause' | 'balancer' | 'shard-count' }
  | { readonly kind: 'malformed'; readonly key: string };

export function emptySnapshot(prefix: string, numShards: number): ClusterSnapshot {
  return {
    prefix: new Keyspace(prefix).prefix,
    numShards,
    layout: { count: numShards, transition: null, reshards: 0, modRevision: 0, source: 'configured' },
    revision: 0,
    nodes: new Map(),
    gates: new Map(),
    leader: null,
    shards: new Array<ShardEntry | undefined>(numShards).fill(undefined),
    nodeInfo: new Map(),
    load: new Map(),
    drains: new Map(),
    migrations: new Map(),
    releaseRequests: new Map(),
    pause: null,
    balancer: null,
    malformed: new Map(),
  };
}

/**
 * Builds a snapshot from a full range read of `<prefix>/` at `revision`; `numShards` is the configured count, which
 * holds only while the cluster has no shard-count record. The record is applied first: it decides which shard IDs
 * the other keys may name.
 */
export function buildSnapshot(prefix: string, numShards: number, kvs: Iterable<Kv>, revision: number): ClusterSnapshot {
  const recordKey = new Keyspace(prefix).shardCount;
  const events: KvEvent[] = [];
  for (const kv of kvs) {
    if (kv.key === recordKey) events.unshift({ type: 'put', kv });
    else events.push({ type: 'put', kv });
  }
  return applyEvents(emptySnapshot(prefix, numShards), events, revision).snapshot;
}

/**
 * Applies a batch of watch events (in revision order) and returns the new snapshot plus what changed.
 * Structures are copied only when the batch touches them, so a batch of shard events costs one array copy.
 * Events at or below the revision already reflected by a record are ignored (replays after a reconnect).
 */
export function applyEvents(
  snap: ClusterSnapshot,
  events: readonly KvEvent[],
  revision: number,
): { snapshot: ClusterSnapshot; changes: ClusterChange[] } {
  const b = new SnapshotBuilder(snap);
  for (const ev of events) b.apply(ev);
  return { snapshot: b.finish(Math.max(revision, snap.revision)), changes: b.changes };
}

type RecordDir = 'nodeInfo' | 'load' | 'drains' | 'migrations' | 'releaseRequests';

class SnapshotBuilder {
  readonly changes: ClusterChange[] = [];
  private readonly keys: Keyspace;
  private shards: (ShardEntry | undefined)[] | null = null;
  private nodes: Map<string, MemberEntry> | null = null;
  private gates: Map<string, MemberEntry> | null = null;
  /** Copies of the record maps this batch touched. */
  private readonly records: { [D in RecordDir]?: Map<unknown, unknown> } = {};
  private malformed: Map<string, MalformedEntry> | null = null;
  private leader: LeaderEntry | null;
  private pause: Revisioned<PauseRecord> | null;
  private balancer: Revisioned<BalancerStatusRecord> | null;
  private layout: ShardLayout;
  private slots: number; // valid shard IDs under `layout`

  constructor(private readonly base: ClusterSnapshot) {
    this.keys = new Keyspace(base.prefix);
    this.leader = base.leader;
    this.pause = base.pause;
    this.balancer = base.balancer;
    this.layout = base.layout;
    this.slots = base.numShards;
  }

  apply(ev: KvEvent): void {
    const key = ev.type === 'put' ? ev.kv.key : ev.key;
    const cls = this.keys.classify(key, this.slots);
    // The history has its own readers (core/history): the snapshot's range leaves it out, its watch events pass by.
    if (cls.kind === 'foreign' || cls.kind === 'unknown' || cls.kind === 'history') return;
    // A key that decodes now is no longer malformed; one that fails below is marked again.
    this.clearMalformed(key);
    if (cls.kind === 'malformed') {
      if (ev.type === 'put') this.markMalformed(ev.kv, cls.reason);
      return;
    }
    // A value beyond its key's bound is reported with its size and never decoded: the record it replaces is gone.
    const tooBig = ev.type === 'put' ? oversizeReason(ev.kv.value, valueBound(cls.kind)) : null;
    const decoder = <T>(decode: (raw: string) => Decoded<T>) => (tooBig === null ? decode : (): Decoded<T> => ({ ok: false, reason: tooBig }));
    switch (cls.kind) {
      case 'shard':
        return this.applyShard(cls.shardId, ev, tooBig);
      case 'node':
      case 'gate':
        return this.applyMember(cls.kind, cls.address, ev, tooBig);
      case 'leader':
        return this.applyLeader(ev, tooBig);
      case 'nodeinfo':
        return this.applyRecord('nodeInfo', cls.address, ev, decoder(decodeNodeInfo), { kind: 'nodeinfo', address: cls.address });
      case 'load':
        return this.applyRecord('load', cls.address, ev, decoder(decodeLoad), { kind: 'load', address: cls.address });
      case 'drain':
        return this.applyRecord('drains', cls.address, ev, decoder(decodeDrain), { kind: 'drain', address: cls.address });
      case 'migration':
        return this.applyRecord('migrations', cls.shardId, ev, decoder(decodeMigration), { kind: 'migration', shardId: cls.shardId });
      case 'release-request':
        return this.applyRecord('releaseRequests', cls.shardId, ev, decoder(decodeReleaseRequest), {
          kind: 'release-request',
          shardId: cls.shardId,
        });
      case 'rebalance-pause': {
        const next = this.decodeSingle(ev, decoder(decodePause));
        if (next !== this.pause) {
          this.pause = next;
          this.changes.push({ kind: 'pause' });
        }
        return;
      }
      case 'balancer-status': {
        const next = this.decodeSingle(ev, decoder(decodeBalancerStatus));
        if (next !== this.balancer) {
          this.balancer = next;
          this.changes.push({ kind: 'balancer' });
        }
        return;
      }
      case 'shard-count':
        return this.applyShardCount(ev, tooBig);
    }
  }

  finish(revision: number): ClusterSnapshot {
    const b = this.base;
    return {
      prefix: b.prefix,
      numShards: this.slots,
      layout: this.layout,
      revision,
      nodes: this.nodes ?? b.nodes,
      gates: this.gates ?? b.gates,
      leader: this.leader,
      shards: this.shards ?? b.shards,
      nodeInfo: (this.records.nodeInfo as ClusterSnapshot['nodeInfo'] | undefined) ?? b.nodeInfo,
      load: (this.records.load as ClusterSnapshot['load'] | undefined) ?? b.load,
      drains: (this.records.drains as ClusterSnapshot['drains'] | undefined) ?? b.drains,
      migrations: (this.records.migrations as ClusterSnapshot['migrations'] | undefined) ?? b.migrations,
      releaseRequests: (this.records.releaseRequests as ClusterSnapshot['releaseRequests'] | undefined) ?? b.releaseRequests,
      pause: this.pause,
      balancer: this.balancer,
      malformed: this.malformed ?? b.malformed,
    };
  }

  /**
   * A shard whose value is too big becomes an empty mapping at the key's revision (reported as malformed), so the
   * leader assigns it with a CAS that replaces the value.
   */
  private applyShard(id: number, ev: KvEvent, tooBig: string | null): void {
    const shards = (this.shards ??= [...this.base.shards]);
    const before = shards[id];
    const rev = ev.type === 'put' ? ev.kv.modRevision : ev.modRevision;
    if (before !== undefined && rev <= before.modRevision) return;
    let after: ShardEntry | undefined;
    if (ev.type === 'put' && tooBig !== null) {
      this.markMalformed(ev.kv, tooBig);
      after = { id, target: '', current: '', flags: [], modRevision: ev.kv.modRevision, raw: '', warnings: [tooBig] };
    } else if (ev.type === 'put') {
      const parsed = parseShardValue(ev.kv.value);
      after = { id, ...parsed.value, modRevision: ev.kv.modRevision, raw: ev.kv.value, warnings: parsed.warnings };
    } else if (before === undefined) {
      return;
    }
    shards[id] = after;
    this.changes.push({ kind: 'shard', id, before, after });
  }

  private applyShardCount(ev: KvEvent, tooBig: string | null): void {
    const next = nextLayout(this.layout, ev, tooBig);
    if (next === null) return;
    if ('malformed' in next) return this.markMalformed((ev as { kv: Kv }).kv, next.malformed);
    this.layout = next.layout;
    this.changes.push({ kind: 'shard-count' });
    this.resize(slotCount(this.layout));
  }

  /** Resizes the shard range to the layout's (see resizeShardRange). */
  private resize(slots: number): void {
    const old = this.slots;
    if (slots === old) return;
    this.slots = slots;
    resizeShardRange(old, slots, {
      keys: this.keys,
      shards: (this.shards ??= [...this.base.shards]),
      records: (dir) => (this.records[dir] ??= new Map(this.base[dir] as ReadonlyMap<unknown, unknown>)) as Map<number, { modRevision: number }>,
      malformed: () => [...(this.malformed ?? this.base.malformed).values()],
      markMalformed: (kv, reason) => this.markMalformed(kv, reason),
      reapply: (kv) => this.apply({ type: 'put', kv }),
    });
  }

  private applyMember(kind: 'node' | 'gate', address: string, ev: KvEvent, tooBig: string | null): void {
    const map = kind === 'node' ? (this.nodes ??= new Map(this.base.nodes)) : (this.gates ??= new Map(this.base.gates));
    const existed = map.has(address);
    if (ev.type === 'delete') {
      if (!existed) return;
      map.delete(address);
      this.changes.push({ kind: kind === 'node' ? 'node-left' : 'gate-left', address });
      return;
    }
    const { kv } = ev;
    // A member registers under its lease with its address as the value (upstream does too); a key without a lease
    // never expires, and upstream would take a different value for the member: neither is a live member.
    const problem =
      tooBig ??
      (kv.lease === '0' ? `${kind} key has no lease: not a live ${kind}` : kv.value !== address ? `${kind} value differs from the address in the key` : null);
    if (problem !== null) {
      if (existed) {
        map.delete(address);
        this.changes.push({ kind: kind === 'node' ? 'node-left' : 'gate-left', address });
      }
      this.markMalformed(kv, problem);
      return;
    }
    map.set(address, {
      address,
      value: kv.value,
      modRevision: kv.modRevision,
      createRevision: kv.createRevision,
      lease: kv.lease,
    });
    if (!existed) this.changes.push({ kind: kind === 'node' ? 'node-joined' : 'gate-joined', address });
  }

  /** A leader key without a valid address names nobody; its ModRevision stays, so an election can replace it. */
  private applyLeader(ev: KvEvent, tooBig: string | null): void {
    const before = this.leader;
    const rev = ev.type === 'put' ? ev.kv.modRevision : ev.modRevision;
    if (before !== null && rev <= before.modRevision) return;
    let next: LeaderEntry | null = null;
    if (ev.type === 'put') {
      const problem = tooBig ?? memberAddressProblem(ev.kv.value);
      if (problem !== null) this.markMalformed(ev.kv, `leader ${problem}`);
      next = { address: problem === null ? ev.kv.value : '', modRevision: rev };
    }
    this.leader = next;
    const [b, a] = [leaderAddress(before), leaderAddress(next)];
    if (b !== a || ev.type === 'delete') this.changes.push({ kind: 'leader', before: b, after: a });
  }

  private applyRecord<T>(
    dir: RecordDir,
    id: string | number,
    ev: KvEvent,
    decode: (raw: string) => Decoded<T>,
    change: ClusterChange,
  ): void {
    const map = (this.records[dir] ??= new Map(this.base[dir] as ReadonlyMap<unknown, unknown>));
    // An event the record already reflects (a replay after a fresh read healed it) changes nothing.
    const held = map.get(id) as { readonly modRevision: number } | undefined;
    if (held !== undefined && (ev.type === 'put' ? ev.kv.modRevision : ev.modRevision) <= held.modRevision) return;
    if (ev.type === 'delete') {
      if (map.delete(id)) this.changes.push(change);
      return;
    }
    const d = decode(ev.kv.value);
    if (d.ok) map.set(id, dir === 'migrations' ? { ...d.record, modRevision: ev.kv.modRevision, lease: ev.kv.lease } : { ...d.record, modRevision: ev.kv.modRevision });
    else {
      map.delete(id);
      this.markMalformed(ev.kv, d.reason);
    }
    this.changes.push(change);
  }

  /** The decoded record, or null when deleted or malformed (a malformed pause pauses nothing). */
  private decodeSingle<T>(ev: KvEvent, decode: (raw: string) => Decoded<T>): Revisioned<T> | null {
    if (ev.type === 'delete') return null;
    const d = decode(ev.kv.value);
    if (d.ok) return { ...d.record, modRevision: ev.kv.modRevision };
    this.markMalformed(ev.kv, d.reason);
    return null;
  }

  private markMalformed(kv: Kv, reason: string): void {
    const { key, value } = kv;
    const raw = value.length > MALFORMED_RAW_KEEP ? value.slice(0, MALFORMED_RAW_KEEP) : value;
    const entry: MalformedEntry = { key, raw, size: utf8Length(value), modRevision: kv.modRevision, reason };
    (this.malformed ??= new Map(this.base.malformed)).set(key, entry);
    this.changes.push({ kind: 'malformed', key });
  }

  private clearMalformed(key: string): void {
    const existing = this.malformed ?? this.base.malformed;
    if (!existing.has(key)) return;
    (this.malformed ??= new Map(this.base.malformed)).delete(key);
    this.changes.push({ kind: 'malformed', key });
  }
}

