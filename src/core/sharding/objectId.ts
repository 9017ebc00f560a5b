import { InvalidObjectIdError } from '../errors.js';
import { fnv1a32 } from './hash.js';

/** The default number of shards of a Goverse cluster. */
export const DEFAULT_NUM_SHARDS = 8192;

export type ObjectIdFormat = 'regular' | 'fixed-shard' | 'fixed-node';

export type ParsedObjectId =
  | { readonly format: 'regular'; readonly id: string }
  | { readonly format: 'fixed-shard'; readonly id: string; readonly shardId: number; readonly objectPart: string }
  | { readonly format: 'fixed-node'; readonly id: string; readonly node: string; readonly objectPart: string };

const FIXED_SHARD = 'shard#';
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Go `strconv.Atoi` on a 64-bit platform: optional sign, ASCII digits only, must fit int64.
 * Returns null when Atoi would fail. Values beyond 2^53 are returned rounded; callers only compare them with shard
 * counts, which are far smaller.
 */
export function parseGoInt(text: string): number | null {
  if (!/^[+-]?[0-9]+$/.test(text)) return null;
  const big = BigInt(text);
  if (big < INT64_MIN || big > INT64_MAX) return null;
  return Number(big);
}

/**
 * Why an ID's characters are refused, or null: it must be well-formed UTF-16 (a lone surrogate has no UTF-8 form, so
 * the store and the hash would see replacement bytes) and free of control characters (C0, DEL, C1), which would
 * reach logs, tables and terminals.
 */
export function objectIdCharacterProblem(id: string): string | null {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return `control character ${codePoint(c)} at index ${i}`;
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < id.length ? id.charCodeAt(i + 1) : 0;
      if (c >= 0xdc00 || next < 0xdc00 || next > 0xdfff) return `lone surrogate ${codePoint(c)} at index ${i} (not well-formed UTF-16)`;
      i++;
    }
  }
  return null;
}

function codePoint(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Parses an object ID as upstream's objectid.Parse does, and also refuses the characters `objectIdCharacterProblem`
 * names (upstream accepts them). Throws InvalidObjectIdError.
 */
export function parseObjectId(id: string): ParsedObjectId {
  if (id === '') throw new InvalidObjectIdError(id, 'object ID is empty');
  const problem = objectIdCharacterProblem(id);
  if (problem !== null) throw new InvalidObjectIdError(id, problem);
  const slash = id.indexOf('/');
  if (slash >= 0) {
    const prefix = id.slice(0, slash);
    const rest = id.slice(slash + 1);
    if (prefix.startsWith(FIXED_SHARD)) {
      const digits = prefix.slice(FIXED_SHARD.length);
      if (digits === '') throw new InvalidObjectIdError(id, 'fixed-shard ID needs a shard number after "shard#"');
      const shardId = parseGoInt(digits);
      if (shardId === null) throw new InvalidObjectIdError(id, `shard number ${JSON.stringify(digits)} is not an integer`);
      return { format: 'fixed-shard', id, shardId, objectPart: rest };
    }
    if (prefix === '') throw new InvalidObjectIdError(id, 'fixed-node ID has an empty node address before "/"');
    return { format: 'fixed-node', id, node: prefix, objectPart: rest };
  }
  if (id.startsWith(FIXED_SHARD)) {
    throw new InvalidObjectIdError(id, 'fixed-shard ID must have the form shard#<n>/<id>');
  }
  return { format: 'regular', id };
}

/** Parse, then check that a fixed-shard ID names a shard in [0, numShards). */
export function validateObjectId(id: string, numShards: number): ParsedObjectId {
  const parsed = parseObjectId(id);
  if (parsed.format === 'fixed-shard' && (parsed.shardId < 0 || parsed.shardId >= numShards)) {
    throw new InvalidObjectIdError(id, `shard ${parsed.shardId} is out of range [0, ${numShards})`);
  }
  return parsed;
}

/**
 * Upstream's GetShardID (docs/UPSTREAM.md §10.2): lenient, never throws. A well-formed `shard#<n>/...` prefix with
 * n in range selects shard n; anything else hashes the whole ID.
 */
export function shardOfObject(id: string, numShards: number): number {
  if (id.startsWith(FIXED_SHARD)) {
    const slash = id.indexOf('/');
    if (slash > FIXED_SHARD.length) {
      const n = parseGoInt(id.slice(FIXED_SHARD.length, slash));
      if (n !== null && n >= 0 && n < numShards) return n;
    }
  }
  return fnv1a32(id) % numShards;
}

/**
 * Where a valid object lives: its shard, or for fixed-node IDs the node itself (which bypasses sharding).
 * Throws InvalidObjectIdError for IDs routing would reject.
 */
export type ObjectPlacement = { readonly kind: 'shard'; readonly shardId: number } | { readonly kind: 'node'; readonly node: string };

export function placeObject(id: string, numShards: number): ObjectPlacement {
  const parsed = validateObjectId(id, numShards);
  if (parsed.format === 'fixed-node') return { kind: 'node', node: parsed.node };
  if (parsed.format === 'fixed-shard') return { kind: 'shard', shardId: parsed.shardId };
  return { kind: 'shard', shardId: fnv1a32(id) % numShards };
}
