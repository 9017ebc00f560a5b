/**
 * Shard ownership of one cluster as an etcd watch delivers it, kept as counts (a leading `_` keeps this module out
 * of the benchmark list). A timed wait resolves at the watch event that made its condition true, so the clock is
 * not quantised by a polling interval, and reading 8,192 shard keys over and over does not load the machine whose
 * speed is being measured.
 */
import { Keyspace } from '../src/core/keyspace/keys.js';
import { parseShardValue } from '../src/core/keyspace/shardValue.js';
import type { EtcdClient, WatchHandle } from '../src/edge/etcd/client.js';

/** What the conditions look at. */
export interface Ownership {
  readonly numShards: number;
  /** Shards whose TargetNode == CurrentNode (not empty): claimed, no move in flight. */
  readonly claimed: number;
  /** Claimed shards per node. */
  readonly byNode: ReadonlyMap<string, number>;
}

interface Waiter {
  readonly check: (o: Ownership) => boolean;
  readonly resolve: (at: number) => void;
}

export class OwnershipWatch implements Ownership {
  claimed = 0;
  readonly byNode = new Map<string, number>();
  private readonly owner = new Map<number, string>();
  private readonly keys: Keyspace;
  private watch: WatchHandle | null = null;
  private waiters: Waiter[] = [];
  private failure: Error | null = null;

  private constructor(
    private readonly client: EtcdClient,
    prefix: string,
    readonly numShards: number,
  ) {
    this.keys = new Keyspace(prefix);
  }

  /** Lists the shard keys, then watches them from the next revision. */
  static async start(client: EtcdClient, prefix: string, numShards: number): Promise<OwnershipWatch> {
    const w = new OwnershipWatch(client, prefix, numShards);
    const root = `${w.keys.root}shard/`;
    const { kvs, revision } = await client.rangePrefix(root);
    for (const kv of kvs) w.apply(kv.key, kv.value);
    w.watch = client.watchPrefix(root, revision + 1, {
      onEvents: (events) => {
        for (const ev of events) w.apply(ev.type === 'put' ? ev.kv.key : ev.key, ev.type === 'put' ? ev.kv.value : null);
        w.settle();
      },
      onConnected: () => {},
      onDisconnected: () => {},
      onCancelled: (err) => {
        w.failure = err;
      },
    });
    return w;
  }

  /** Resolves with the `performance.now()` of the event that made `check` true (at once if it already is). */
  until(what: string, check: (o: Ownership) => boolean, timeoutMs: number): Promise<number> {
    if (check(this)) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const cause = this.failure === null ? '' : ` (the watch failed: ${this.failure.message})`;
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; now ${this.describe()}${cause}`));
      }, timeoutMs);
      const waiter: Waiter = {
        check,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      this.waiters.push(waiter);
    });
  }

  describe(): string {
    const nodes = [...this.byNode].map(([n, c]) => `${n}: ${c}`).join(', ');
    return `${this.claimed}/${this.numShards} claimed (${nodes || 'none'})`;
  }

  async cancel(): Promise<void> {
    await this.watch?.cancel();
  }

  private apply(key: string, value: string | null): void {
    const k = this.keys.classify(key, this.numShards);
    if (k.kind !== 'shard') return;
    const before = this.owner.get(k.shardId);
    if (before !== undefined) {
      this.owner.delete(k.shardId);
      this.claimed--;
      this.byNode.set(before, this.byNode.get(before)! - 1);
    }
    if (value === null) return;
    const v = parseShardValue(value).value;
    if (v.current === '' || v.current !== v.target) return;
    this.owner.set(k.shardId, v.current);
    this.claimed++;
    this.byNode.set(v.current, (this.byNode.get(v.current) ?? 0) + 1);
  }

  private settle(): void {
    const at = performance.now();
    const done = this.waiters.filter((w) => w.check(this));
    if (done.length === 0) return;
    this.waiters = this.waiters.filter((w) => !done.includes(w));
    for (const w of done) w.resolve(at);
  }
}

/** Every shard claimed by `node`. */
export const allOwnedBy =
  (node: string) =>
  (o: Ownership): boolean =>
    o.byNode.get(node) === o.numShards;

/**
 * Every shard claimed, each of `nodes` owning some, and the spread within `threshold` of the ideal share: the
 * count balancer's stopping rule, the same on both sides.
 */
export const balancedOver =
  (nodes: readonly string[], threshold: number) =>
  (o: Ownership): boolean => {
    if (o.claimed !== o.numShards) return false;
    const counts = nodes.map((n) => o.byNode.get(n) ?? 0);
    return Math.min(...counts) > 0 && Math.max(...counts) - Math.min(...counts) <= (threshold * o.numShards) / nodes.length;
  };
