/**
 * The cluster history's entries, at `<prefix>/history/<id>`: one JSON object per leader decision, skip-reason change,
 * stuck episode or operator action. Written small (long lists summarized, strings cut, the whole within
 * ENTRY_BOUND); read tolerantly: fields and actions this version does not know are kept as stored, and only an entry
 * whose known fields are unusable is malformed (reported, never thrown).
 */
import type { Decoded } from '../keyspace/records.js';
import { HISTORY_ID } from '../keyspace/keys.js';
import { HISTORY_VALUE_BOUND, utf8Length } from '../keyspace/valueBounds.js';
import { formatShardList } from '../operations/shardList.js';
import { type ShardRanges, parseShardRanges, rangesCount } from './shardRanges.js';

/** The operator actions, from the CLI, the console or the admin API. */
export const OPERATOR_ACTIONS = ['pin', 'unpin', 'reassign', 'release', 'drain', 'undrain', 'pause', 'resume', 'reshard', 'reshard-abort'] as const;
/**
 * The leader's entries: shards given targets (`assign`), moved by the balancer (`rebalance`) or by stuck recovery
 * (`recover`), a new reason to do nothing (`skip`), a migration found stuck (`stuck`) and one that no longer is
 * (`unstuck`), a shard-count transition's writes and phases (`reshard`: co-locations and pairs, then started,
 * aborting, completed, aborted, stalled as the outcome); `move` is what the console saw move under an upstream leader
 * (never stored).
 */
export const LEADER_ACTIONS = ['assign', 'rebalance', 'recover', 'skip', 'stuck', 'unstuck', 'reshard', 'move'] as const;
export type HistoryAction = (typeof OPERATOR_ACTIONS)[number] | (typeof LEADER_ACTIONS)[number];

/** Who wrote an entry: a front end for operators, `leader` for decisions; `observed` is the console's own, never stored. */
export type HistorySource = 'cli' | 'console' | 'admin-api' | 'leader' | 'observed';

/** Shards moved from one node to another, as one group of an entry. */
export interface MoveGroup {
  readonly from: string;
  readonly to: string;
  readonly shards: ShardRanges;
  /** Shards in the group (more than `shards` lists when its list was cut). */
  readonly count: number;
}

/** An entry as built by its writer, before it is bounded and encoded. */
export interface HistoryDraft {
  /** Epoch ms. */
  readonly at: number;
  /** `user@host` for operators, the admin API's identity, the leader's node address. */
  readonly actor: string;
  readonly source: HistorySource;
  readonly action: HistoryAction;
  readonly shards?: readonly number[];
  readonly node?: string;
  readonly moves?: readonly { readonly shard: number; readonly from: string; readonly to: string }[];
  readonly reason: string;
  /** `written`, `partial` (some changes lost or failed), `detected`, `resolved`, `changed`, `observed`. */
  readonly outcome: string;
}

/** An entry as read. Strings from etcd: shown printable on terminals. */
export interface HistoryEntry {
  /** The key's ID: orders entries by time. */
  readonly id: string;
  readonly at: number;
  readonly actor: string;
  /** As stored; '' when absent. */
  readonly source: string;
  /** As stored, known or not. */
  readonly action: string;
  readonly node: string | null;
  readonly shards: ShardRanges;
  /** Shards the entry is about in all (more than listed when its lists were cut). */
  readonly shardCount: number;
  readonly moves: readonly MoveGroup[];
  readonly reason: string;
  readonly outcome: string;
  /** The stored object, every field kept (those this version does not know included), for JSON output. */
  readonly stored: Readonly<Record<string, unknown>>;
  /** Fields this version does not know, as stored. */
  readonly unknown: Readonly<Record<string, unknown>>;
}

/** The largest encoded entry (UTF-8 bytes): the bound of history keys, which readers hold every value to. */
export const ENTRY_BOUND = HISTORY_VALUE_BOUND;
const LIMITS = { actor: 255, word: 32, node: 255, reason: 512, shardList: 1024, moveShardList: 128, moveGroups: 16 } as const;
const KNOWN_FIELDS: ReadonlySet<string> = new Set(['at', 'actor', 'source', 'action', 'node', 'shards', 'shardCount', 'moves', 'reason', 'outcome']);

/** The ID of an entry at `at` (epoch ms): 13 digits of time, so keys sort by time, then `unique` (random, [0-9a-z]). */
export function historyId(at: number, unique: string): string {
  return `${String(Math.max(0, Math.floor(at))).padStart(13, '0')}-${unique}`;
}

/** Encodes a draft within ENTRY_BOUND: strings cut, shard lists cut at a comma, at most 16 move groups (largest first). */
export function encodeHistoryEntry(draft: HistoryDraft): string {
  const moves = moveGroups(draft.moves ?? []);
  const shardIds = draft.shards ?? [];
  const doc: Record<string, unknown> = {
    at: Math.floor(draft.at),
    actor: cut(draft.actor, LIMITS.actor),
    source: draft.source,
    action: draft.action,
    ...(draft.node === undefined ? {} : { node: cut(draft.node, LIMITS.node) }),
    ...(shardIds.length === 0 ? {} : { shards: cutList(formatShardList(shardIds), LIMITS.shardList) }),
    ...(shardIds.length + moves.total === 0 ? {} : { shardCount: new Set(shardIds).size + moves.total }),
    ...(moves.groups.length === 0 ? {} : { moves: moves.groups }),
    reason: cut(draft.reason, LIMITS.reason),
    outcome: cut(draft.outcome, LIMITS.word),
  };
  let text = JSON.stringify(doc);
  // Escaped control characters and multi-byte text can still outgrow the bound: drop move groups, then shorten.
  while (utf8Length(text) > ENTRY_BOUND && Array.isArray(doc.moves) && doc.moves.length > 0) {
    doc.moves = doc.moves.slice(0, -1);
    text = JSON.stringify(doc);
  }
  if (utf8Length(text) > ENTRY_BOUND) {
    for (const field of ['reason', 'actor', 'node'] as const) if (typeof doc[field] === 'string') doc[field] = cut(doc[field] as string, 16);
    if (typeof doc.shards === 'string') doc.shards = cutList(doc.shards, 16);
    text = JSON.stringify(doc);
  }
  return text;
}

function moveGroups(moves: NonNullable<HistoryDraft['moves']>): { groups: Record<string, unknown>[]; total: number } {
  const byPair = new Map<string, { from: string; to: string; ids: number[] }>();
  for (const m of moves) {
    const pair = JSON.stringify([m.from, m.to]);
    let g = byPair.get(pair);
    if (g === undefined) byPair.set(pair, (g = { from: m.from, to: m.to, ids: [] }));
    g.ids.push(m.shard);
  }
  const groups = [...byPair.values()]
    .sort((a, b) => b.ids.length - a.ids.length)
    .slice(0, LIMITS.moveGroups)
    .map((g) => ({
      from: cut(g.from, LIMITS.node),
      to: cut(g.to, LIMITS.node),
      shards: cutList(formatShardList(g.ids), LIMITS.moveShardList),
      count: new Set(g.ids).size,
    }));
  return { groups, total: moves.length };
}

/** At most `max` UTF-16 units, an ellipsis where it was cut (never inside a surrogate pair). */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  if (/[\ud800-\udbff]/.test(s[end - 1] ?? '')) end--;
  return `${s.slice(0, end)}…`;
}

/** A shard list cut at a comma to at most `max` characters: every part it keeps is whole. */
function cutList(list: string, max: number): string {
  if (list.length <= max) return list;
  const at = list.lastIndexOf(',', max);
  return at <= 0 ? '' : list.slice(0, at);
}

/** Decodes the entry at ID `id`; never throws. */
export function decodeHistoryEntry(id: string, raw: string): Decoded<HistoryEntry> {
  if (!HISTORY_ID.test(id)) return bad(`history ID ${JSON.stringify(id)} is not <13-digit epoch ms>-<lower-case letters and digits>`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return bad(`not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return bad('not a JSON object');
  const o = parsed as Record<string, unknown>;
  if (typeof o.at !== 'number' || !Number.isFinite(o.at) || o.at < 0) return bad('field "at" must be a time (epoch ms)');
  for (const f of ['actor', 'action'] as const) if (typeof o[f] !== 'string') return bad(`field "${f}" must be a string`);
  for (const f of ['source', 'node', 'reason', 'outcome'] as const) {
    if (o[f] !== undefined && typeof o[f] !== 'string') return bad(`field "${f}" must be a string`);
  }
  const shards = o.shards === undefined ? [] : typeof o.shards === 'string' ? parseShardRanges(o.shards) : null;
  if (shards === null) return bad('field "shards" must be a shard list such as "1,5,10-20"');
  const moves = decodeMoves(o.moves);
  if (typeof moves === 'string') return bad(moves);
  const listed = rangesCount(shards) + moves.reduce((n, m) => n + m.count, 0);
  if (o.shardCount !== undefined && !(Number.isSafeInteger(o.shardCount) && (o.shardCount as number) >= 0)) {
    return bad('field "shardCount" must be a non-negative integer');
  }
  const unknown: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!KNOWN_FIELDS.has(k)) unknown[k] = v;
  return {
    ok: true,
    record: {
      id,
      at: o.at,
      actor: o.actor as string,
      source: (o.source as string | undefined) ?? '',
      action: o.action as string,
      node: (o.node as string | undefined) ?? null,
      shards,
      shardCount: Math.max(listed, (o.shardCount as number | undefined) ?? 0),
      moves,
      reason: (o.reason as string | undefined) ?? '',
      outcome: (o.outcome as string | undefined) ?? '',
      stored: o,
      unknown,
    },
  };
}

function decodeMoves(v: unknown): MoveGroup[] | string {
  if (v === undefined) return [];
  const problem = 'field "moves" must be a list of {from, to, shards, count}';
  if (!Array.isArray(v)) return problem;
  const out: MoveGroup[] = [];
  for (const m of v) {
    if (typeof m !== 'object' || m === null) return problem;
    const g = m as Record<string, unknown>;
    const shards = typeof g.shards === 'string' ? parseShardRanges(g.shards) : null;
    if (typeof g.from !== 'string' || typeof g.to !== 'string' || shards === null) return problem;
    const count = Number.isSafeInteger(g.count) && (g.count as number) >= 0 ? (g.count as number) : null;
    if (count === null) return problem;
    out.push({ from: g.from, to: g.to, shards, count: Math.max(count, rangesCount(shards)) });
  }
  return out;
}

function bad(reason: string): Decoded<never> {
  return { ok: false, reason };
}

/** Whether the entry is about a shard in `ranges`: listed in its shards or in a move group (cut lists: what they list). */
export function touchesShards(entry: HistoryEntry, ranges: ShardRanges): boolean {
  return overlap(entry.shards, ranges) || entry.moves.some((m) => overlap(m.shards, ranges));
}

/** Whether the entry is about `node`: its node, or a move from or to it. */
export function touchesNode(entry: HistoryEntry, node: string): boolean {
  return entry.node === node || entry.moves.some((m) => m.from === node || m.to === node);
}

function overlap(a: ShardRanges, b: ShardRanges): boolean {
  for (const [a0, a1] of a) for (const [b0, b1] of b) if (a0 <= b1 && b0 <= a1) return true;
  return false;
}
