import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { PersistenceError, StaleEpochError } from '../../../src/node/persistence/errors.js';
import { SCHEMA_VERSION, SqliteObjectStore } from '../../../src/node/persistence/sqliteObjectStore.js';
import { describeObjectStoreContract } from '../../unit/node/persistence/objectStoreContract.js';
import { startFixture, type Fixture } from './childProcess.js';
import { join, useTempDirs } from './tempDir.js';

const tempDir = useTempDirs();
const X = { type: 'Counter', id: 'x' };

describeObjectStoreContract('SqliteObjectStore', () => SqliteObjectStore.open(join(tempDir(), 'objects.db')));

describe('SqliteObjectStore on one shared file', () => {
  const opened: SqliteObjectStore[] = [];
  const children: Fixture[] = [];
  const open = (path: string, options = {}): SqliteObjectStore => {
    const store = SqliteObjectStore.open(path, options);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const c of children.splice(0)) c.child.kill('SIGKILL');
    for (const s of opened.splice(0)) await s.close();
  });

  it('creates a WAL database with a versioned schema, and refuses an unknown version', async () => {
    const path = join(tempDir(), 'objects.db');
    const store = open(path);
    await store.load(X, 1, '0');
    expect(existsSync(`${path}-wal`)).toBe(true);
    const raw = new Database(path);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe(String(SCHEMA_VERSION));
    raw.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run();
    raw.close();
    expect(() => SqliteObjectStore.open(path)).toThrow(/schema version 99 is not supported/);
  });

  it('two store instances (two processes) fence each other by epoch', async () => {
    const path = join(tempDir(), 'objects.db');
    const oldOwner = open(path);
    const newOwner = open(path);
    await oldOwner.load(X, 5, '0');
    await oldOwner.save(X, 5, '1');

    // The new owner's activation raises the stored epoch; the old owner's next save is refused and not applied.
    expect(await newOwner.load(X, 8, '0')).toEqual({ state: '1', created: false });
    const err = await oldOwner.save(X, 5, '2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StaleEpochError);
    expect(err).toMatchObject({ epoch: 5, storedEpoch: 8, retriable: true });
    await expect(oldOwner.load(X, 5, '0')).rejects.toBeInstanceOf(StaleEpochError);

    await newOwner.save(X, 8, '3');
    expect(await open(path).load(X, 8, '0')).toEqual({ state: '3', created: false });
  });

  it('a save issued while another process holds the write lock waits for it (busy timeout) without blocking the event loop', async () => {
    const path = join(tempDir(), 'objects.db');
    const waiting = open(path, { busyTimeoutMs: 20_000 });
    const impatient = open(path, { busyTimeoutMs: 50 });
    await waiting.load(X, 1, '0');

    const holder = startFixture('lockHolder', [path]);
    children.push(holder);
    await holder.line(/^locked$/);
    const busy = await impatient.save(X, 1, '1').catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(PersistenceError);
    expect(busy).toMatchObject({ retriable: true });

    // Waits until the holder commits (it cannot fail with SQLITE_BUSY as the impatient store did), then succeeds;
    // the wait is asynchronous: this process's event loop keeps running (keepalives, calls) meanwhile.
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const saved = waiting.save(X, 1, '2');
    holder.child.stdin!.write('release 500\n');
    await holder.line(/^releasing$/);
    await saved;
    clearInterval(ticker);
    expect(ticks, 'timer ticks while the save waited 500 ms for the lock').toBeGreaterThan(5);
    expect(await waiting.load(X, 1, '0')).toEqual({ state: '2', created: false });
    expect(await waiting.load({ type: 'Lock', id: 'held' }, 0, '0')).toEqual({ state: '1', created: false });
    await holder.line(/^committed /);
    expect(await holder.exited).toBe(0);
  });

  it('two node processes write the same database concurrently without errors or lost writes', async () => {
    const path = join(tempDir(), 'objects.db'); // created by the writers, which open it at about the same time
    const writers = [startFixture('storeWriter', [path, 'a', '500', '3']), startFixture('storeWriter', [path, 'b', '500', '4'])];
    children.push(...writers);
    for (const w of writers) await w.line(/^ready$/);
    for (const w of writers) w.child.stdin!.end('go\n');
    for (const w of writers) {
      expect(JSON.parse(await w.line(/saves/, 60_000))).toEqual({ saves: 1500 });
      expect(await w.exited).toBe(0);
    }
    const raw = new Database(path, { readonly: true });
    const rows = raw.prepare<[], { id: string; state: string; epoch: number }>('SELECT id, state, epoch FROM objects').all();
    raw.close();
    expect(rows).toHaveLength(1000);
    expect(rows.every((r) => r.state === '3' && r.epoch === (r.id.startsWith('a-') ? 3 : 4))).toBe(true);
    expect(await open(path).load({ type: 'Counter', id: 'b-499' }, 4, '0')).toEqual({ state: '3', created: false });
  });

  it('reports use after close as a PersistenceError', async () => {
    const store = SqliteObjectStore.open(join(tempDir(), 'objects.db'));
    await store.close();
    await expect(store.load(X, 1, '0')).rejects.toBeInstanceOf(PersistenceError);
  });
});
