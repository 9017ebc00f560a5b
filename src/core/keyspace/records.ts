/**
 * Codecs for goverse-top's own records under the cluster prefix (JSON values; upstream ignores these keys).
 * Decoders never throw: they return the record or the reason it is malformed.
 */

export type Decoded<T> = { readonly ok: true; readonly record: T } | { readonly ok: false; readonly reason: string };

/** Published by each TypeScript node under its lease at `<prefix>/nodeinfo/<addr>`. */
export interface NodeInfoRecord {
  readonly nodeId: string;
  /** Where the node's `/metrics`, `/ready` and `/healthz` are served. */
  readonly opsUrl: string;
  /** Base URL of the object API (`--listen`). */
  readonly apiUrl: string;
  readonly version: string;
  /** Capacity weight; the ideal share of a node is proportional to it. */
  readonly weight: number;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  /** 'running', or 'stopping' while a graceful shutdown hands its shards over (no new targets then). */
  readonly state: NodeRunState;
  /** 1 when the node follows shard-count transitions (docs/RESHARDING.md §3); absent from older nodes. */
  readonly reshard?: number;
  /** The shard count the node serves with now (it follows `<prefix>/shard-count`). */
  readonly shardCount?: number;
}

export type NodeRunState = 'running' | 'stopping';

/** An operator's drain of a node, at `<prefix>/drain/<addr>`: the node gets no targets until undrained. */
export interface DrainRecord {
  readonly at: number;
  readonly by: string;
}

/** A node's smoothed load, published under its lease at `<prefix>/load/<addr>`. */
export interface LoadRecord {
  readonly at: number;
  /** Process CPU use, in cores (1 = one core busy). */
  readonly cpu: number | null;
  /** Resident memory in bytes. */
  readonly rssBytes: number | null;
  /** Per shard: [shardId, objects, callsPerSecond]; shards with neither are left out. */
  readonly shards: readonly (readonly [number, number, number])[];
  /** How many shard entries were dropped to keep the record small (lightest first). */
  readonly truncated: number;
}

/** When a migration (target != current) began; written by the process that started it or first saw it. */
export interface MigrationRecord {
  readonly since: number;
  /** The target the record belongs to: a record whose target differs from the shard's is stale. */
  readonly target: string;
  /** CurrentNode when the migration began. */
  readonly from: string;
}

/** A time-boxed pause of rebalancing, at `<prefix>/rebalance/pause`. */
export interface PauseRecord {
  readonly until: number;
  readonly by: string;
  readonly at: number;
  readonly reason: string;
}

/** A request that the live owner of a shard release it now, at `<prefix>/release-request/<id>`. */
export interface ReleaseRequestRecord {
  readonly at: number;
  readonly by: string;
  /** The owner asked; a request addressed to an earlier owner is stale. */
  readonly owner: string;
}

export interface BalancerDecisionRecord {
  readonly at: number;
  readonly strategy: string;
  /** 'moved' | 'skipped' | 'assigned' | 'recovered' ... */
  readonly outcome: string;
  readonly reason: string;
  readonly moves: readonly { readonly shard: number; readonly from: string; readonly to: string }[];
}

/** The leader's balancer state and its recent decisions, at `<prefix>/rebalance/status`. */
export interface BalancerStatusRecord {
  readonly leader: string;
  readonly strategy: string;
  readonly state: string;
  readonly reason: string;
  readonly at: number;
  readonly recent: readonly BalancerDecisionRecord[];
}

type Shape = Record<string, 'string' | 'number' | 'number?' | 'array'>;

function decodeJson<T>(raw: string, shape: Shape): Decoded<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  const obj = parsed as Record<string, unknown>;
  for (const [field, type] of Object.entries(shape)) {
    const v = obj[field];
    const ok =
      type === 'string'
        ? typeof v === 'string'
        : type === 'number'
          ? typeof v === 'number' && Number.isFinite(v)
          : type === 'number?'
            ? v === null || (typeof v === 'number' && Number.isFinite(v))
            : Array.isArray(v);
    if (!ok) return { ok: false, reason: `field "${field}" must be ${type.replace('?', ' or null')}` };
  }
  return { ok: true, record: obj as T };
}

export function decodeNodeInfo(raw: string): Decoded<NodeInfoRecord> {
  const d = decodeJson<NodeInfoRecord>(raw, {
    nodeId: 'string',
    opsUrl: 'string',
    apiUrl: 'string',
    version: 'string',
    weight: 'number',
    startedAt: 'number',
    state: 'string',
  });
  if (!d.ok) return d;
  if (!(d.record.weight > 0)) return { ok: false, reason: 'field "weight" must be positive' };
  if (d.record.state !== 'running' && d.record.state !== 'stopping') {
    return { ok: false, reason: 'field "state" must be "running" or "stopping"' };
  }
  // Optional fields of newer nodes: a value of the wrong type reads as absent (the node cannot follow, its count unknown).
  const { reshard, shardCount, ...rest } = d.record;
  return {
    ok: true,
    record: {
      ...rest,
      ...(reshard === 1 ? { reshard } : {}),
      ...(typeof shardCount === 'number' && Number.isSafeInteger(shardCount) && shardCount > 0 ? { shardCount } : {}),
    },
  };
}

export function decodeLoad(raw: string): Decoded<LoadRecord> {
  const d = decodeJson<LoadRecord>(raw, {
    at: 'number',
    cpu: 'number?',
    rssBytes: 'number?',
    shards: 'array',
    truncated: 'number',
  });
  if (!d.ok) return d;
  for (const entry of d.record.shards) {
    if (!Array.isArray(entry) || entry.length !== 3 || !entry.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0)) {
      return { ok: false, reason: 'field "shards" must hold [shard, objects, callsPerSecond] triples' };
    }
  }
  return d;
}

export function decodeMigration(raw: string): Decoded<MigrationRecord> {
  return decodeJson<MigrationRecord>(raw, { since: 'number', target: 'string', from: 'string' });
}

export function decodePause(raw: string): Decoded<PauseRecord> {
  return decodeJson<PauseRecord>(raw, { until: 'number', by: 'string', at: 'number', reason: 'string' });
}

export function decodeDrain(raw: string): Decoded<DrainRecord> {
  return decodeJson<DrainRecord>(raw, { at: 'number', by: 'string' });
}

export function decodeReleaseRequest(raw: string): Decoded<ReleaseRequestRecord> {
  return decodeJson<ReleaseRequestRecord>(raw, { at: 'number', by: 'string', owner: 'string' });
}

export function decodeBalancerStatus(raw: string): Decoded<BalancerStatusRecord> {
  return decodeJson<BalancerStatusRecord>(raw, {
    leader: 'string',
    strategy: 'string',
    state: 'string',
    reason: 'string',
    at: 'number',
    recent: 'array',
  });
}

export function encodeRecord(record: object): string {
  return JSON.stringify(record);
}
