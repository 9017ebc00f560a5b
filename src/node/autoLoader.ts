import type { AutoLoadObject } from '../core/config/autoLoad.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log/logger.js';

/** The objects one auto-load entry asks this node to create, given the shards it serves (null shard: fixed-node). */
export function autoLoadIds(
  entry: AutoLoadObject,
  servedShards: Iterable<number>,
  self: string,
  shardOf: (id: string) => number,
): { readonly id: string; readonly shard: number | null }[] {
  switch (entry.placement) {
    case 'per-node':
      return [{ id: `${self}/${entry.id}`, shard: null }];
    case 'per-shard':
      return [...servedShards].map((shard) => ({ id: `shard#${shard}/${entry.id}`, shard }));
    case 'single': {
      const shard = shardOf(entry.id);
      return [...servedShards].includes(shard) ? [{ id: entry.id, shard }] : [];
    }
  }
}

/**
 * Upstream's auto-load objects (docs/UPSTREAM.md §6.3): whenever this node starts serving a shard, the configured
 * objects that live there are created (a no-op when they exist). What is created is remembered per shard epoch, so
 * a shard served again after a move or a fence episode is loaded again.
 */
export class AutoLoader {
  /** Object -> the epoch it was created under; one entry per auto-load object, so it stays small. */
  private readonly done = new Map<string, number>();
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly options: {
      readonly entries: readonly AutoLoadObject[];
      readonly self: string;
      /** The shard serving an object now (upstream's lenient rule, then the shard count's). */
      readonly shardOf: (id: string) => number;
      /** Shards served now, each with its epoch. */
      readonly served: () => ReadonlyMap<number, number>;
      readonly nodeEpoch: () => number | null;
      readonly create: (type: string, id: string) => Promise<unknown>;
      readonly logger: Logger;
    },
  ) {}

  /** Creates what is missing; coalesces calls made while a round runs. */
  trigger(): void {
    if (this.options.entries.length === 0) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = this.round().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.trigger();
      }
    });
  }

  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async round(): Promise<void> {
    const { entries, self, shardOf, create, logger } = this.options;
    const served = this.options.served();
    const nodeEpoch = this.options.nodeEpoch();
    for (const entry of entries) {
      for (const { id, shard } of autoLoadIds(entry, served.keys(), self, shardOf)) {
        const epoch = shard === null ? nodeEpoch : served.get(shard);
        if (epoch === null || epoch === undefined) continue;
        const key = `${entry.type}\u0000${id}`;
        if (this.done.get(key) === epoch) continue;
        try {
          await create(entry.type, id);
          this.done.set(key, epoch);
        } catch (err) {
          logger.warn('auto-load object not created; retried on the next change', { type: entry.type, id, err: describeError(err) });
        }
      }
    }
  }
}
