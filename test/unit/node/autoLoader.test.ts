import { describe, expect, it } from 'vitest';
import { nullLogger } from '../../../src/core/log/logger.js';
import { shardOfObject } from '../../../src/core/sharding/objectId.js';
import { AutoLoader, autoLoadIds } from '../../../src/node/autoLoader.js';

const by64 = (id: string): number => shardOfObject(id, 64);

describe('auto-load objects', () => {
  it('places entries as upstream does', () => {
    const served = [3, 7];
    expect(autoLoadIds({ type: 'T', id: 'x', placement: 'per-shard' }, served, 'n:1', by64)).toEqual([
      { id: 'shard#3/x', shard: 3 },
      { id: 'shard#7/x', shard: 7 },
    ]);
    expect(autoLoadIds({ type: 'T', id: 'x', placement: 'per-node' }, served, 'n:1', by64)).toEqual([{ id: 'n:1/x', shard: null }]);
    const single = shardOfObject('cfg', 64);
    expect(autoLoadIds({ type: 'T', id: 'cfg', placement: 'single' }, [single], 'n:1', by64)).toEqual([{ id: 'cfg', shard: single }]);
    expect(autoLoadIds({ type: 'T', id: 'cfg', placement: 'single' }, [(single + 1) % 64], 'n:1', by64)).toEqual([]);
  });

  it('creates each object once per epoch and again when its shard comes back under a new epoch', async () => {
    let served = new Map([[3, 10]]);
    const created: string[] = [];
    const loader = new AutoLoader({
      entries: [{ type: 'T', id: 'x', placement: 'per-shard' }],
      self: 'n:1',
      shardOf: by64,
      served: () => served,
      nodeEpoch: () => 1,
      create: async (_t, id) => void created.push(id),
      logger: nullLogger,
    });
    loader.trigger();
    await loader.idle();
    loader.trigger();
    await loader.idle();
    expect(created).toEqual(['shard#3/x']);
    served = new Map([[3, 11]]);
    loader.trigger();
    await loader.idle();
    expect(created).toEqual(['shard#3/x', 'shard#3/x']);
  });

  it('retries an object whose creation failed', async () => {
    let fail = true;
    const created: string[] = [];
    const loader = new AutoLoader({
      entries: [{ type: 'T', id: 'x', placement: 'per-node' }],
      self: 'n:1',
      shardOf: by64,
      served: () => new Map(),
      nodeEpoch: () => 5,
      create: async (_t, id) => {
        if (fail) throw new Error('not yet');
        created.push(id);
      },
      logger: nullLogger,
    });
    loader.trigger();
    await loader.idle();
    fail = false;
    loader.trigger();
    await loader.idle();
    expect(created).toEqual(['n:1/x']);
  });
});
