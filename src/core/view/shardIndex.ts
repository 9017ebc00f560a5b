/**
 * The shards grouped by owner, and the notable ones: what the shard map lays out and marks, and which shards a node's
 * figures touch. A band is a node's shards (CurrentNode, else TargetNode), in ascending IDs, bands in node order, then
 * the shards without either, then a shard-count transition's absent high shards; a shard is notable when it is not plainly stable (another state, or pinned). The view's
 * incremental rebuild keeps it up to date in place, shard by changed shard, so a 65,536-shard cluster is never walked
 * to find where one shard sits.
 */

/** The reads the console and the CLI make. */
export interface ShardLayout {
  /** Shards in all (positions run 0..size-1). */
  readonly size: number;
  /** Bands: one per node index, then the shards without an owner or target, then a transition's absent shards. */
  readonly bandCount: number;
  bandOf(id: number): number;
  /** Position of a band's first shard. */
  bandStart(band: number): number;
  /** A band's shards, ascending. */
  shardsIn(band: number): readonly number[];
  /** A shard's position in the layout. */
  positionOf(id: number): number;
  /** The shard at a position. */
  idAt(position: number): number;
  /**
   * Shards not plainly stable: another state than stable (and than absent), or pinned (stuck shards are in migration,
   * so included).
   */
  readonly notable: ReadonlySet<number>;
}

export class ShardIndex implements ShardLayout {
  private readonly band: Int32Array;
  private readonly bands: number[][];
  /** Prefix sums of the band sizes (bandCount + 1 entries), recomputed on the first read after a band changed size. */
  private readonly starts: Int32Array;
  private startsDirty = true;
  readonly notable = new Set<number>();

  /** Every shard from its owner and target node indexes (-1 for none), whether it is absent, and whether notable. */
  constructor(nodeCount: number, current: Int32Array, target: Int32Array, absent: (id: number) => boolean, notable: (id: number) => boolean) {
    const n = current.length;
    this.band = new Int32Array(n);
    this.bands = Array.from({ length: nodeCount + 2 }, () => []);
    this.starts = new Int32Array(nodeCount + 3);
    for (let id = 0; id < n; id++) {
      const b = bandFor(current[id]!, target[id]!, absent(id), nodeCount);
      this.band[id] = b;
      this.bands[b]!.push(id);
      if (notable(id)) this.notable.add(id);
    }
  }

  get size(): number {
    return this.band.length;
  }

  get bandCount(): number {
    return this.bands.length;
  }

  bandOf(id: number): number {
    return this.band[id]!;
  }

  bandStart(band: number): number {
    return this.prefix()[band]!;
  }

  shardsIn(band: number): readonly number[] {
    return this.bands[band] ?? [];
  }

  positionOf(id: number): number {
    const b = this.band[id]!;
    return this.prefix()[b]! + lowerBound(this.bands[b]!, id);
  }

  idAt(position: number): number {
    const starts = this.prefix();
    // The last band whose start is at or before the position (empty bands share their start with the next).
    let lo = 0;
    let hi = this.bands.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= position) lo = mid;
      else hi = mid - 1;
    }
    return this.bands[lo]![position - starts[lo]!]!;
  }

  /** A shard's owner or target changed, or whether it is absent: it moves to its new band. */
  move(id: number, current: number, target: number, absent: boolean): void {
    const to = bandFor(current, target, absent, this.bands.length - 2);
    const from = this.band[id]!;
    if (to === from) return;
    const old = this.bands[from]!;
    old.splice(lowerBound(old, id), 1);
    const next = this.bands[to]!;
    next.splice(lowerBound(next, id), 0, id);
    this.band[id] = to;
    this.startsDirty = true;
  }

  setNotable(id: number, notable: boolean): void {
    if (notable) this.notable.add(id);
    else this.notable.delete(id);
  }

  private prefix(): Int32Array {
    if (this.startsDirty) {
      for (let b = 0; b < this.bands.length; b++) this.starts[b + 1] = this.starts[b]! + this.bands[b]!.length;
      this.startsDirty = false;
    }
    return this.starts;
  }
}

function bandFor(current: number, target: number, absent: boolean, nodeCount: number): number {
  if (absent) return nodeCount + 1;
  const owner = current >= 0 ? current : target;
  return owner >= 0 && owner < nodeCount ? owner : nodeCount;
}

/** Index of the first element >= `value` in an ascending array. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
