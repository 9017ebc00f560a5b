import { fnv1a32 } from '../sharding/hash.js';

const TWO_POW_32 = 4294967296;
const TWO_POW_31 = 2147483648;

/**
 * A 32-bit finaliser with full avalanche (xorshift-multiply), so nearby inputs give unrelated outputs. The result is
 * a signed int32: staying in small-integer range keeps the hot loops free of heap numbers.
 */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  return x ^ (x >>> 16);
}

function shardSeed(shardId: number): number {
  return mix32((shardId + 0x9e3779b9) | 0);
}

/** The uniform variate in (0,1) of a hash; increasing in the signed hash. */
function uniform(h: number): number {
  return (h + TWO_POW_31 + 0.5) / TWO_POW_32;
}

/**
 * Weighted rendezvous (highest random weight) hashing over a fixed list of nodes. For each (shard, node) pair a hash
 * gives u in (0,1) and the key -ln(u)/weight, an exponential variate with rate `weight`; the node with the smallest
 * key wins, so node i wins a share weight_i/Σweight of the shards, and adding or removing a node changes the winner
 * only of shards that the node wins or won. Per-node seeds are computed once; scoring allocates nothing.
 */
export class Rendezvous {
  readonly size: number;
  private readonly seeds: Int32Array;
  private readonly inverseWeights: Float64Array;
  private readonly uniform: boolean;

  constructor(addresses: readonly string[], weights: readonly number[]) {
    this.size = addresses.length;
    this.seeds = Int32Array.from(addresses, (a) => mix32(fnv1a32(a)));
    this.inverseWeights = Float64Array.from(weights, (w) => 1 / w);
    this.uniform = weights.every((w) => w === weights[0]);
  }

  /**
   * Index of the node with the strongest claim on the shard, ignoring nodes whose `blocked` entry is non-zero;
   * -1 when every node is blocked. Ties go to the lower index.
   */
  winner(shardId: number, blocked?: Uint8Array): number {
    const s = shardSeed(shardId);
    const seeds = this.seeds;
    const n = this.size;
    let best = -1;
    if (this.uniform) {
      // Equal weights: the smallest key is the largest hash, no logarithm needed.
      let bestHash = -TWO_POW_31 - 1;
      for (let i = 0; i < n; i++) {
        if (blocked !== undefined && blocked[i] !== 0) continue;
        const h = mix32(seeds[i]! ^ s);
        if (h > bestHash) {
          bestHash = h;
          best = i;
        }
      }
      return best;
    }
    const inv = this.inverseWeights;
    let bestKey = Infinity;
    for (let i = 0; i < n; i++) {
      if (blocked !== undefined && blocked[i] !== 0) continue;
      const u = uniform(mix32(seeds[i]! ^ s));
      // -ln(u) >= 1 - u: when even that lower bound loses, skip the logarithm (almost always, with many nodes).
      if ((1 - u) * inv[i]! >= bestKey) continue;
      const key = -Math.log(u) * inv[i]!;
      if (key < bestKey) {
        bestKey = key;
        best = i;
      }
    }
    return best;
  }

  /**
   * How strongly node i claims the shard, comparable across shards for the same node (larger is stronger): the
   * shards a node claims most strongly are the ones it most likely wins.
   */
  affinity(shardId: number, i: number): number {
    return mix32(this.seeds[i]! ^ shardSeed(shardId));
  }
}
