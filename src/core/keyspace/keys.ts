import { memberAddressProblem } from './nodeAddress.js';

/** Default cluster prefix, as upstream. */
export const DEFAULT_PREFIX = '/goverse';

/**
 * The key layout under a cluster prefix. Upstream keys: nodes, gates, leader, shard. Our own keys (ignored by
 * upstream, which dispatches on those four patterns only) live next to them.
 */
export class Keyspace {
  readonly prefix: string;
  /** Every key of this cluster starts with this; ranges and watches use it so sibling prefixes never leak in. */
  readonly root: string;

  constructor(prefix: string = DEFAULT_PREFIX) {
    this.prefix = prefix === '' ? DEFAULT_PREFIX : prefix;
    this.root = `${this.prefix}/`;
  }

  node(address: string): string {
    return `${this.root}nodes/${address}`;
  }
  gate(address: string): string {
    return `${this.root}gates/${address}`;
  }
  get leader(): string {
    return `${this.root}leader`;
  }
  shard(id: number): string {
    return `${this.root}shard/${id}`;
  }
  nodeInfo(address: string): string {
    return `${this.root}nodeinfo/${address}`;
  }
  load(address: string): string {
    return `${this.root}load/${address}`;
  }
  migration(id: number): string {
    return `${this.root}migration/${id}`;
  }
  drain(address: string): string {
    return `${this.root}drain/${address}`;
  }
  releaseRequest(id: number): string {
    return `${this.root}release-request/${id}`;
  }
  get rebalancePause(): string {
    return `${this.root}rebalance/pause`;
  }
  get balancerStatus(): string {
    return `${this.root}rebalance/status`;
  }
  /** The shard count and its transition (docs/RESHARDING.md §2). */
  get shardCount(): string {
    return `${this.root}shard-count`;
  }
  /** Every history entry's key starts with this (core/history). */
  get historyRoot(): string {
    return `${this.root}history/`;
  }
  /** A history entry: `id` orders the entries by time (see historyId). */
  history(id: string): string {
    return `${this.historyRoot}${id}`;
  }

  /** Which record a key holds. Pure: no logging, no throwing. */
  classify(key: string, numShards: number): KeyClass {
    if (!key.startsWith(this.root)) return { kind: 'foreign' };
    const rest = key.slice(this.root.length);
    if (rest === 'leader') return { kind: 'leader' };
    if (rest === 'rebalance/pause') return { kind: 'rebalance-pause' };
    if (rest === 'rebalance/status') return { kind: 'balancer-status' };
    if (rest === 'shard-count') return { kind: 'shard-count' };
    const slash = rest.indexOf('/');
    if (slash < 0) return { kind: 'unknown' };
    const dir = rest.slice(0, slash);
    const suffix = rest.slice(slash + 1);
    switch (dir) {
      case 'nodes':
      case 'gates':
      case 'nodeinfo':
      case 'load':
      case 'drain': {
        if (suffix === '') return { kind: 'malformed', reason: `empty address after "${dir}/"` };
        const problem = memberAddressProblem(suffix);
        if (problem !== null) return { kind: 'malformed', reason: problem };
        const kind = dir === 'nodes' ? 'node' : dir === 'gates' ? 'gate' : dir;
        return { kind, address: suffix };
      }
      case 'history':
        return { kind: 'history', id: suffix };
      case 'shard':
      case 'migration':
      case 'release-request': {
        const id = parseShardId(suffix, numShards);
        if (typeof id === 'string') return { kind: 'malformed', reason: id };
        const kind = dir === 'shard' ? 'shard' : dir === 'migration' ? 'migration' : 'release-request';
        return { kind, shardId: id };
      }
      default:
        return { kind: 'unknown' };
    }
  }
}

/**
 * A shard ID as written in keys: canonical decimal (`0`, `7`, `8191`) below `numShards`; otherwise the reason it is
 * not one. Go's Atoi would also read `+7`, `007` or `-0` as a shard, but such keys are aliases nobody here writes: a
 * key that is not the canonical spelling of its shard must never be mistaken for that shard's key.
 */
export function parseShardId(text: string, numShards: number): number | string {
  if (!/^(0|[1-9][0-9]*)$/.test(text)) return `shard ID ${JSON.stringify(text)} is not a canonical decimal number`;
  const id = Number(text);
  return id < numShards ? id : `shard ID ${text} is out of range [0, ${numShards})`;
}

/** A history entry's ID: its time (epoch ms, 13 digits, so keys sort by time) and a random part that makes it unique. */
export const HISTORY_ID = /^\d{13}-[0-9a-z]{1,32}$/;

export type KeyClass =
  | { readonly kind: 'node' | 'gate' | 'nodeinfo' | 'load' | 'drain'; readonly address: string }
  | { readonly kind: 'shard' | 'migration' | 'release-request'; readonly shardId: number }
  | { readonly kind: 'leader' | 'rebalance-pause' | 'balancer-status' | 'shard-count' }
  /**
   * Under `history/`: read by the history's own readers, which check the ID (HISTORY_ID) and the value; never part of
   * the snapshot, and never read by its range.
   */
  | { readonly kind: 'history'; readonly id: string }
  /** Under the prefix but not a key anyone here writes (kept out of the snapshot silently). */
  | { readonly kind: 'unknown' }
  /** Looks like one of ours but cannot be decoded. */
  | { readonly kind: 'malformed'; readonly reason: string }
  /** Outside `<prefix>/`: never in this cluster's view. */
  | { readonly kind: 'foreign' };
