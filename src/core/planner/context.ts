import type { ClusterSnapshot } from '../snapshot/snapshot.js';

/**
 * Why an alive node receives no targets. `cannot-follow`: it does not follow shard-count transitions (an upstream
 * node, an older goverse-node) while one runs or after the count changed (docs/RESHARDING.md §3).
 */
export type Ineligibility = 'draining' | 'stopping' | 'cannot-follow';

/**
 * The nodes a planner may place shards on, derived once per snapshot. Eligible = alive (a valid, leased
 * `<prefix>/nodes/<addr>` key: the snapshot's members), not drained (`<prefix>/drain/<addr>`), not stopping (nodeinfo state). Nodes without nodeinfo (upstream
 * nodes) are eligible with weight 1.
 */
export interface PlannerContext {
  readonly alive: ReadonlySet<string>;
  /** Eligible addresses in byte-wise order (upstream sorts Go strings by bytes). */
  readonly eligible: readonly string[];
  /** Position of each eligible address in `eligible`. */
  readonly index: ReadonlyMap<string, number>;
  /** Capacity weights, parallel to `eligible`. */
  readonly weights: readonly number[];
  readonly totalWeight: number;
  /** Alive nodes that are not eligible, and why. */
  readonly ineligible: ReadonlyMap<string, Ineligibility>;
}

/**
 * `stopping`: a node that is stopping although its nodeinfo does not say so yet (a node handing its own shards over
 * before it announces its stop).
 */
export function plannerContext(snapshot: ClusterSnapshot, stopping?: string): PlannerContext {
  const alive = new Set(snapshot.nodes.keys());
  const ineligible = new Map<string, Ineligibility>();
  const eligible: string[] = [];
  const mustFollow = countChanging(snapshot);
  for (const address of alive) {
    if (snapshot.drains.has(address)) ineligible.set(address, 'draining');
    else if (address === stopping || snapshot.nodeInfo.get(address)?.state === 'stopping') ineligible.set(address, 'stopping');
    else if (mustFollow && !followsShardCount(snapshot, address)) ineligible.set(address, 'cannot-follow');
    else eligible.push(address);
  }
  eligible.sort(compareAddresses);
  const weights = eligible.map((a) => nodeWeight(snapshot, a));
  return {
    alive,
    eligible,
    index: new Map(eligible.map((a, i) => [a, i])),
    weights,
    totalWeight: weights.reduce((s, w) => s + w, 0),
    ineligible,
  };
}

/** A transition runs, or the count has changed since the record was made: every member must follow the record. */
export function countChanging(snapshot: ClusterSnapshot): boolean {
  return snapshot.layout.transition !== null || snapshot.layout.reshards > 0;
}

/** Whether a member publishes that it follows shard-count transitions (`reshard: 1` in its nodeinfo). */
export function followsShardCount(snapshot: ClusterSnapshot, address: string): boolean {
  return snapshot.nodeInfo.get(address)?.reshard === 1;
}

/** The capacity weight a node published in its nodeinfo; 1 for nodes that publish none. */
export function nodeWeight(snapshot: ClusterSnapshot, address: string): number {
  return snapshot.nodeInfo.get(address)?.weight ?? 1;
}

/**
 * Byte-wise order of the UTF-8 encodings, as Go sorts strings. UTF-16 code-unit order (JS `<`) differs only between
 * a surrogate (a code point above U+FFFF) and a unit in U+E000..U+FFFF, so those two ranges are swapped here.
 */
export function compareAddresses(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf8Rank(x) - utf8Rank(y);
  }
  return a.length - b.length;
}

function utf8Rank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}
