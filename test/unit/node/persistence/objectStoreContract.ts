import { describe, expect, it } from 'vitest';
import { ClusterMismatchError } from '../../../../src/node/persistence/clusterBinding.js';
import { StaleEpochError } from '../../../../src/node/persistence/errors.js';
import type { ObjectStore } from '../../../../src/node/persistence/objectStore.js';

const X = { type: 'Counter', id: 'x' };

/** The ObjectStore contract (epoch fencing), run against every implementation. */
export function describeObjectStoreContract(name: string, open: () => Promise<ObjectStore> | ObjectStore): void {
  describe(`${name}: ObjectStore contract`, () => {
    it('creates a missing row on load, then returns the stored state', async () => {
      const store = await open();
      expect(await store.load(X, 5, '"init"')).toEqual({ state: '"init"', created: true });
      await store.save(X, 5, '"saved"');
      expect(await store.load(X, 5, '"init"')).toEqual({ state: '"saved"', created: false });
      await store.close();
    });

    it('load raises the epoch, which fences older owners', async () => {
      const store = await open();
      await store.load(X, 5, '1');
      await store.load(X, 7, '1');
      await expect(store.save(X, 5, '2')).rejects.toBeInstanceOf(StaleEpochError);
      await expect(store.load(X, 6, '1')).rejects.toMatchObject({ code: 'fenced', retriable: true, storedEpoch: 7 });
      await expect(store.delete(X, 6)).rejects.toBeInstanceOf(StaleEpochError);
      await store.save(X, 7, '3');
      expect((await store.load(X, 7, '1')).state).toBe('3');
      await store.close();
    });

    it('a save with a newer epoch than the row succeeds and raises it', async () => {
      const store = await open();
      await store.load(X, 5, '1');
      await store.save(X, 9, '2');
      await expect(store.save(X, 8, '3')).rejects.toMatchObject({ storedEpoch: 9 });
      await store.close();
    });

    it('refuses to save a row that is gone (deleted by a newer owner)', async () => {
      const store = await open();
      await store.load(X, 5, '1');
      expect(await store.delete(X, 6)).toBe(true);
      await expect(store.save(X, 5, '2')).rejects.toMatchObject({ storedEpoch: null });
      expect(await store.delete(X, 6)).toBe(false);
      expect(await store.load(X, 6, '"fresh"')).toEqual({ state: '"fresh"', created: true });
      await store.close();
    });

    it('records its cluster on first use, refuses another cluster, and moves only when told where from', async () => {
      const store = await open();
      expect(await store.bindCluster('/sec')).toEqual({ kind: 'recorded' });
      expect(await store.bindCluster('/sec')).toEqual({ kind: 'matched' });
      const refused = await store.bindCluster('/other').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ClusterMismatchError);
      expect(refused).toMatchObject({ code: 'config', recorded: '/sec', cluster: '/other' });
      expect((refused as Error).message).toMatch(/belongs to cluster \/sec, not to this node's cluster \/other; .*--db-adopt-cluster \/sec/);
      await expect(store.bindCluster('/other', '/third')).rejects.toThrow(/--db-adopt-cluster names \/third, so the database is not taken over/);
      expect(await store.bindCluster('/other', '/sec')).toEqual({ kind: 'adopted', from: '/sec' });
      expect(await store.bindCluster('/other', '/sec')).toEqual({ kind: 'matched' });
      await expect(store.bindCluster('/sec')).rejects.toBeInstanceOf(ClusterMismatchError);
      await store.close();
    });

    it('a probe leaves every object as it was', async () => {
      const store = await open();
      await store.load(X, 1, '"a"');
      await store.probe(100_000);
      await store.probe(0);
      expect(await store.load(X, 1, '""')).toEqual({ state: '"a"', created: false });
      await store.close();
    });

    it('keys rows by type and ID', async () => {
      const store = await open();
      await store.load({ type: 'A', id: 'x' }, 1, '"a"');
      expect(await store.load({ type: 'B', id: 'x' }, 1, '"b"')).toEqual({ state: '"b"', created: true });
      expect((await store.load({ type: 'A', id: 'x' }, 1, '""')).state).toBe('"a"');
      await store.close();
    });
  });
}
