import { Keyspace } from '../keyspace/keys.js';
import type { MalformedEntry } from '../snapshot/snapshot.js';

/** How many malformed entries a report lists (the count is always complete). */
export const MALFORMED_LISTED = 100;

/** The directories whose keys name a shard: a malformed one is an alias or an out-of-range ID, never that shard. */
export const SHARD_DIRS = ['shard', 'migration', 'release-request'] as const;

/** The entries whose key lies in one of `dirs` under the prefix (`nodes` for node keys that are not live members). */
export function malformedIn(entries: readonly MalformedEntry[], prefix: string, dirs: readonly string[]): MalformedEntry[] {
  const roots = dirs.map((d) => `${new Keyspace(prefix).root}${d}/`);
  return entries.filter((e) => roots.some((r) => e.key.startsWith(r)));
}

/** The JSON form of a listing: the first MALFORMED_LISTED entries with the start of their value and its size. */
export function malformedListing(entries: readonly MalformedEntry[]): { key: string; value: string; size: number; reason: string }[] {
  return entries.slice(0, MALFORMED_LISTED).map((e) => ({ key: e.key, value: e.raw, size: e.size, reason: e.reason }));
}
