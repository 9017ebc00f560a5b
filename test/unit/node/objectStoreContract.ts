import { describe, expect, it } from 'vitest';
import { StaleEpochError } from '../../../src/node/persistence/errors.js';
import type { ObjectStore } from '../../../src/node/persistence/objectStore.js';

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

    it('keys rows by type and ID', async () => {
      const store = await open();
      await store.load({ type: 'A', id: 'x' }, 1, '"a"');
      expect(await store.load({ type: 'B', id: 'x' }, 1, '"b"')).toEqual({ state: '"b"', created: true });
      expect((await store.load({ type: 'A', id: 'x' }, 1, '""')).state).toBe('"a"');
      await store.close();
    });
  });
}
