/**
 * Group commit in SqliteObjectStore on a real database file: the writes queued in one turn commit as one transaction
 * (shown by a SQLite failure forced inside one group, which rolls back exactly that group), each write fenced on its
 * own, each caller answered only once its write is committed.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { PersistenceError } from '../../../src/node/persistence/errors.js';
import type { ObjectKey } from '../../../src/node/persistence/objectStore.js';
import { SqliteObjectStore, type SqliteObjectStoreOptions } from '../../../src/node/persistence/sqliteObjectStore.js';
import { join, useTempDirs } from './tempDir.js';

const tempDir = useTempDirs();
const key = (id: string): ObjectKey => ({ type: 'Counter', id });

describe('SqliteObjectStore group commit', () => {
  const opened: (SqliteObjectStore | Database.Database)[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });
  function open(options: SqliteObjectStoreOptions = {}) {
    const path = join(tempDir(), 'objects.db');
    const store = SqliteObjectStore.open(path, options);
    // A second connection, as another process would have: it sees only committed rows.
    const raw = new Database(path);
    opened.push(store, raw);
    const stored = (id: string) =>
      raw.prepare<[string], { state: string; epoch: number }>("SELECT state, epoch FROM objects WHERE type = 'Counter' AND id = ?").get(id);
    return { store, raw, stored };
  }
  const settle = <T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> =>
    p.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );

  it('a stale write in a group fails alone, with StaleEpochError; the loads, saves and deletes beside it commit', async () => {
    const { store, stored } = open();
    for (const id of ['a', 'b', 'c', 'd']) await store.load(key(id), 5, '0');
    await store.load(key('a'), 8, '0'); // a newer owner took `a` over

    const results = await Promise.all([
      settle(store.save(key('b'), 5, '"b1"')),
      settle(store.save(key('a'), 5, '"stale"')),
      settle(store.load(key('new'), 5, '"fresh"')),
      settle(store.delete(key('c'), 5)),
      settle(store.load(key('d'), 4, '0')),
      settle(store.delete(key('a'), 6)),
      settle(store.save(key('d'), 6, '"d1"')),
    ]);
    expect(results.map((r) => (r.ok ? r.value : (r.error as Error).constructor.name))).toEqual([
      undefined,
      'StaleEpochError',
      { state: '"fresh"', created: true },
      true,
      'StaleEpochError',
      'StaleEpochError',
      undefined,
    ]);
    expect(results[1]).toMatchObject({ ok: false, error: { epoch: 5, storedEpoch: 8, retriable: true } });
    expect(stored('a')).toEqual({ state: '0', epoch: 8 });
    expect(stored('b')).toEqual({ state: '"b1"', epoch: 5 });
    expect(stored('c')).toBeUndefined();
    expect(stored('d')).toEqual({ state: '"d1"', epoch: 6 });
    expect(stored('new')).toEqual({ state: '"fresh"', epoch: 5 });
  });

  it('a SQLite failure inside one group fails exactly that group, retriably for the writes that did not cause it; the groups around it commit', async () => {
    const { store, raw, stored } = open({ group: { maxSize: 4, maxWaitMs: 0 } });
    const ids = Array.from({ length: 12 }, (_, i) => `w${i}`);
    for (const id of ids) await store.load(key(id), 1, '0');
    // The injected fault: writing w5 rolls back the whole transaction it runs in.
    raw.exec(`CREATE TRIGGER fault AFTER UPDATE OF state ON objects WHEN NEW.id = 'w5' BEGIN SELECT RAISE(ROLLBACK, 'injected fault'); END`);

    // Twelve saves queued in one turn: groups w0-w3, w4-w7, w8-w11, committed one after the other.
    const results = await Promise.all(ids.map((id) => settle(store.save(key(id), 1, `"${id} saved"`))));

    const failed = ids.filter((_, i) => !results[i]!.ok);
    expect(failed).toEqual(['w4', 'w5', 'w6', 'w7']);
    for (const id of ids) expect(stored(id)!.state).toBe(failed.includes(id) ? '0' : `"${id} saved"`);
    const culprit = (results[5] as { error: PersistenceError }).error;
    expect(culprit).toBeInstanceOf(PersistenceError);
    expect(culprit).toMatchObject({ storeCode: 'SQLITE_CONSTRAINT_TRIGGER', retriable: false });
    expect(culprit.message).toMatch(/save Counter\/w5 failed: SQLITE_CONSTRAINT_TRIGGER: injected fault/);
    for (const i of [4, 6, 7]) {
      const err = (results[i] as { error: PersistenceError }).error;
      expect(err).toBeInstanceOf(PersistenceError);
      expect(err).toMatchObject({ retriable: true, storeCode: 'SQLITE_CONSTRAINT_TRIGGER' });
      expect(err.message).toMatch(new RegExp(`save Counter/w${i} failed: rolled back with its group, because .*save Counter/w5 failed`));
    }

    // The fault gone, the retries commit.
    raw.exec('DROP TRIGGER fault');
    for (const id of failed) await store.save(key(id), 1, `"${id} retried"`);
    expect(stored('w5')!.state).toBe('"w5 retried"');
  });

  it('answers each caller only once its write is committed (visible to another connection)', async () => {
    const { store, stored } = open();
    const ids = Array.from({ length: 50 }, (_, i) => `v${i}`);
    for (const id of ids) await store.load(key(id), 1, '0');
    const seen: (string | undefined)[] = [];
    await Promise.all(ids.map((id) => store.save(key(id), 1, `"${id}"`).then(() => seen.push(stored(id)?.state))));
    expect(seen.sort()).toEqual(ids.map((id) => `"${id}"`).sort());
  });

  it('close lets the queued writes commit first', async () => {
    const { store, stored } = open();
    await store.load(key('x'), 1, '0');
    const saved = store.save(key('x'), 1, '"last"');
    await store.close();
    await saved;
    expect(stored('x')!.state).toBe('"last"');
    await expect(store.save(key('x'), 1, '"after"')).rejects.toBeInstanceOf(PersistenceError);
  });
});
