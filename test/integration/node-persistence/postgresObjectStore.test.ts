/**
 * PostgresObjectStore on a real private PostgreSQL (test/harness/postgres.ts): the shared ObjectStore contract, its
 * own schema (never upstream's table names) with a version, fencing between two stores (two processes), group commit
 * (a stale write fails alone; an error raised by one write rolls back exactly its group; groups lock rows in one
 * order, so concurrent groups never deadlock), synchronous commit whatever the role's default, the pool keys, and a
 * database restart (writes fail retriably meanwhile, the same store works again after).
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres } from '../../harness/postgresSuite.js';
import { parsePostgresUrl, type PostgresTarget } from '../../../src/core/config/postgres.js';
import { PersistenceError, StaleEpochError } from '../../../src/node/persistence/errors.js';
import type { ObjectKey } from '../../../src/node/persistence/objectStore.js';
import { PostgresObjectStore, type PostgresObjectStoreOptions } from '../../../src/node/persistence/postgresObjectStore.js';
import { PG_SCHEMA_VERSION } from '../../../src/node/persistence/postgresSchema.js';
import { startPostgres, type PostgresServer } from '../../harness/postgres.js';
import { waitFor } from '../../harness/waitFor.js';
import { describeObjectStoreContract } from '../../unit/node/persistence/objectStoreContract.js';

let server: PostgresServer;
const key = (id: string): ObjectKey => ({ type: 'Counter', id });

/** The harness server as a store target, with the given pool keys. */
export function targetOf(s: PostgresServer, pool: Partial<Pick<PostgresTarget, 'maxOpenConns' | 'maxIdleConns'>> = {}): PostgresTarget {
  const parsed = parsePostgresUrl(s.url);
  if (!parsed.ok) throw new Error(parsed.problem);
  return { ...parsed.url, sslmode: 'disable', maxOpenConns: 4, maxIdleConns: 2, ...pool };
}

beforeAll(async () => {
  server = await startPostgres({ label: 'pg-store' });
});
afterAll(async () => {
  await server?.close();
});

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => undefined);
});

/** A store on a database without our schema (dropped first). */
async function fresh(options: PostgresObjectStoreOptions = {}, pool = {}): Promise<PostgresObjectStore> {
  await server.psql('DROP SCHEMA IF EXISTS goverse_node CASCADE');
  return open(options, pool);
}

async function open(options: PostgresObjectStoreOptions = {}, pool = {}): Promise<PostgresObjectStore> {
  const store = await PostgresObjectStore.open(targetOf(server, pool), options);
  opened.push(store);
  return store;
}

/** Plain connections, as another process would have: they see only committed rows. */
async function raw(): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: server.url, max: 4 });
  opened.push({ close: () => pool.end() });
  return pool;
}

async function stored(db: pg.Pool, id: string): Promise<{ state: string; epoch: number } | undefined> {
  const { rows } = await db.query<{ state: string; epoch: string }>("SELECT state, epoch FROM goverse_node.objects WHERE type = 'Counter' AND id = $1", [id]);
  return rows[0] === undefined ? undefined : { state: rows[0].state, epoch: Number(rows[0].epoch) };
}

const settle = <T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describeObjectStoreContract('PostgresObjectStore', () => fresh());

describeWithPostgres('PostgresObjectStore schema', () => {
  it('creates its own versioned schema, leaves upstream-named tables alone, and refuses another version or a damaged schema', async () => {
    await server.psql("CREATE TABLE IF NOT EXISTS public.goverse_objects (object_id text PRIMARY KEY, data bytea); DELETE FROM public.goverse_objects; INSERT INTO public.goverse_objects VALUES ('Counter-x', 'upstream')");
    const store = await fresh();
    await store.load(key('x'), 1, '0');
    expect(await server.psql("SELECT value FROM goverse_node.meta WHERE key = 'schema_version'")).toBe(String(PG_SCHEMA_VERSION));
    expect(await server.psql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'goverse_node' ORDER BY 1")).toBe('meta\nobjects');
    expect(await server.psql('SELECT object_id, encode(data, \'escape\') FROM public.goverse_objects')).toBe('Counter-x|upstream');
    await store.close();

    // A second open finds the schema and uses it.
    const again = await open();
    expect(await again.load(key('x'), 1, '"other"')).toEqual({ state: '0', created: false });
    await again.close();

    await server.psql("UPDATE goverse_node.meta SET value = '99' WHERE key = 'schema_version'");
    await expect(open()).rejects.toThrow(/goverse_node\.meta|schema version 99 is not supported \(this build reads version 1\)/);
    await server.psql(`UPDATE goverse_node.meta SET value = '${PG_SCHEMA_VERSION}' WHERE key = 'schema_version'`);
    await server.psql('ALTER TABLE goverse_node.objects DROP COLUMN updated_at');
    await expect(open()).rejects.toThrow(/schema goverse_node is damaged: table goverse_node.objects has columns \(type text, id text, state text, epoch bigint\)/);
    await server.psql('DROP SCHEMA goverse_node CASCADE; DROP TABLE public.goverse_objects');
  });

  it('commits with synchronous_commit on even when the role defaults to off', async () => {
    await server.psql('ALTER ROLE goverse SET synchronous_commit = off');
    try {
      const store = await fresh();
      await server.psql(
        `CREATE TABLE goverse_node.seen (setting text);
         CREATE FUNCTION goverse_node.record_sync() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN INSERT INTO goverse_node.seen VALUES (current_setting('synchronous_commit')); RETURN NEW; END $$;
         CREATE TRIGGER record_sync AFTER INSERT OR UPDATE ON goverse_node.objects FOR EACH ROW EXECUTE FUNCTION goverse_node.record_sync()`,
      );
      await store.load(key('s'), 1, '0');
      await store.save(key('s'), 1, '1');
      expect(await server.psql('SELECT DISTINCT setting FROM goverse_node.seen')).toBe('on');
      expect(await server.psql('SHOW synchronous_commit')).toBe('off');
    } finally {
      await server.psql('ALTER ROLE goverse RESET synchronous_commit');
    }
  });
});

describeWithPostgres('PostgresObjectStore between processes', () => {
  it('two stores fence each other by epoch in the database', async () => {
    const oldOwner = await fresh();
    const newOwner = await open();
    await oldOwner.load(key('x'), 5, '0');
    await oldOwner.save(key('x'), 5, '1');
    expect(await newOwner.load(key('x'), 8, '0')).toEqual({ state: '1', created: false });
    const err = await oldOwner.save(key('x'), 5, '2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StaleEpochError);
    expect(err).toMatchObject({ epoch: 5, storedEpoch: 8, retriable: true });
    await newOwner.save(key('x'), 8, '3');
    expect(await stored(await raw(), 'x')).toEqual({ state: '3', epoch: 8 });
  });

  it('groups of two stores over the same rows in opposite orders never deadlock', async () => {
    const limits = { group: { maxSize: 1000, maxWaitMs: 0 } };
    const a = await fresh(limits);
    const b = await open(limits);
    const ids = Array.from({ length: 400 }, (_, i) => `d${String(i).padStart(3, '0')}`);
    await Promise.all(ids.map((id) => a.load(key(id), 1, '0')));
    for (let round = 0; round < 10; round++) {
      // Each store's group updates all rows; submitted in opposite orders, they would lock them in opposite orders.
      const results = await Promise.all([
        ...ids.map((id) => settle(a.save(key(id), 1, `"a${round}"`))),
        ...[...ids].reverse().map((id) => settle(b.save(key(id), 1, `"b${round}"`))),
      ]);
      expect(results.filter((r) => !r.ok).map((r) => String((r as { error: unknown }).error))).toEqual([]);
    }
  });
});

describeWithPostgres('PostgresObjectStore group commit', () => {
  it('a stale write in a group fails alone; the loads, saves and deletes beside it commit', async () => {
    const store = await fresh();
    const db = await raw();
    for (const id of ['a', 'b', 'c', 'd']) await store.load(key(id), 5, '0');
    await store.load(key('a'), 8, '0');
    const results = await Promise.all([
      settle(store.save(key('b'), 5, '"b1"')),
      settle(store.save(key('a'), 5, '"stale"')),
      settle(store.load(key('new'), 5, '"fresh"')),
      settle(store.delete(key('c'), 5)),
      settle(store.load(key('d'), 4, '0')),
      settle(store.delete(key('a'), 6)),
      settle(store.save(key('d'), 6, '"d1"')),
      settle(store.delete(key('never'), 6)),
    ]);
    expect(results.map((r) => (r.ok ? r.value : (r.error as Error).constructor.name))).toEqual([
      undefined,
      'StaleEpochError',
      { state: '"fresh"', created: true },
      true,
      'StaleEpochError',
      'StaleEpochError',
      undefined,
      false,
    ]);
    expect(results[1]).toMatchObject({ ok: false, error: { epoch: 5, storedEpoch: 8, retriable: true } });
    expect(await stored(db, 'a')).toEqual({ state: '0', epoch: 8 });
    expect(await stored(db, 'b')).toEqual({ state: '"b1"', epoch: 5 });
    expect(await stored(db, 'c')).toBeUndefined();
    expect(await stored(db, 'd')).toEqual({ state: '"d1"', epoch: 6 });
    expect(await stored(db, 'new')).toEqual({ state: '"fresh"', epoch: 5 });
  });

  it('an error raised by one write fails exactly its group, retriably for the others; the groups around it commit', async () => {
    const store = await fresh({ group: { maxSize: 4, maxWaitMs: 0 } });
    const db = await raw();
    const ids = Array.from({ length: 12 }, (_, i) => `w${i}`);
    for (const id of ids) await store.load(key(id), 1, '0');
    await db.query(`CREATE FUNCTION goverse_node.fault() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected fault' USING DETAIL = 'by the test'; END $$;
      CREATE TRIGGER fault BEFORE UPDATE OF state ON goverse_node.objects FOR EACH ROW WHEN (NEW.id = 'w5') EXECUTE FUNCTION goverse_node.fault()`);

    const results = await Promise.all(ids.map((id) => settle(store.save(key(id), 1, `"${id} saved"`))));
    const failed = ids.filter((_, i) => !results[i]!.ok);
    expect(failed).toEqual(['w4', 'w5', 'w6', 'w7']);
    for (const id of ids) expect((await stored(db, id))!.state).toBe(failed.includes(id) ? '0' : `"${id} saved"`);
    const culprit = (results[5] as { error: PersistenceError }).error;
    expect(culprit).toBeInstanceOf(PersistenceError);
    expect(culprit).toMatchObject({ storeCode: 'P0001', retriable: false });
    expect(culprit.message).toMatch(/save Counter\/w5 failed: P0001: injected fault/);
    for (const i of [4, 6, 7]) {
      const err = (results[i] as { error: PersistenceError }).error;
      expect(err).toMatchObject({ retriable: true, storeCode: 'P0001' });
      expect(err.message).toMatch(new RegExp(`save Counter/w${i} failed: rolled back with its group, because .*save Counter/w5 failed`));
    }
    await db.query('DROP TRIGGER fault ON goverse_node.objects');
    for (const id of failed) await store.save(key(id), 1, `"${id} retried"`);
    expect((await stored(db, 'w5'))!.state).toBe('"w5 retried"');
  });

  it('answers each caller only once its write is committed; writes queued together share transactions', async () => {
    const store = await fresh();
    const db = await raw();
    const ids = Array.from({ length: 200 }, (_, i) => `v${i}`);
    for (const id of ids) await store.load(key(id), 1, '0');
    await db.query(`CREATE TABLE goverse_node.txids (txid bigint);
      CREATE FUNCTION goverse_node.record_txid() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO goverse_node.txids VALUES (txid_current()); RETURN NEW; END $$;
      CREATE TRIGGER record_txid AFTER UPDATE ON goverse_node.objects FOR EACH ROW EXECUTE FUNCTION goverse_node.record_txid()`);
    const seen: (string | undefined)[] = [];
    await Promise.all(ids.map((id) => store.save(key(id), 1, `"${id}"`).then(async () => seen.push((await stored(db, id))?.state))));
    expect(seen.sort()).toEqual(ids.map((id) => `"${id}"`).sort());
    // 200 saves queued in one turn: groups of at most 64 (the default), one transaction each.
    expect(await db.query('SELECT count(DISTINCT txid) AS n FROM goverse_node.txids').then((r) => Number(r.rows[0].n))).toBe(4);
  });

  it('close lets the queued writes commit first; writes after it fail', async () => {
    const store = await fresh();
    const db = await raw();
    await store.load(key('x'), 1, '0');
    const saved = store.save(key('x'), 1, '"last"');
    await store.close();
    await saved;
    expect((await stored(db, 'x'))!.state).toBe('"last"');
    await expect(store.save(key('x'), 1, '"after"')).rejects.toBeInstanceOf(PersistenceError);
  });
});

describeWithPostgres('PostgresObjectStore connections', () => {
  const connections = async (db: pg.Pool): Promise<number> =>
    Number((await db.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'goverse-node'")).rows[0].n);

  it('opens at most max_open_conns connections and keeps at most max_idle_conns idle', async () => {
    const db = await raw();
    const store = await fresh({}, { maxOpenConns: 3, maxIdleConns: 1 });
    let most = 0;
    const watching = (async () => {
      for (let i = 0; i < 50; i++) most = Math.max(most, await connections(db));
    })();
    await Promise.all(Array.from({ length: 40 }, () => store.probe(1000)));
    await watching;
    expect(most).toBeLessThanOrEqual(3);
    await waitFor('one idle connection left', async () => (await connections(db)) === 1);
  });

  it('while the database restarts, writes fail retriably; the same store writes again once it is back', async () => {
    const store = await fresh();
    await store.load(key('r'), 1, '0');
    await server.stop('immediate');
    const down = await store.save(key('r'), 1, '1').catch((e: unknown) => e);
    expect(down).toBeInstanceOf(PersistenceError);
    expect(down).toMatchObject({ retriable: true, storeCode: expect.stringMatching(/^(ECONNREFUSED|CONNECTION_LOST|57P0\d|08\d{3})$/) });
    await expect(store.probe(10)).rejects.toMatchObject({ retriable: true });
    await server.start();
    await waitFor('a probe passes', () => store.probe(10).then(() => true), { timeoutMs: 20_000, intervalMs: 100 });
    await store.save(key('r'), 1, '2');
    expect(await store.load(key('r'), 1, '0')).toEqual({ state: '2', created: false });
  });
});
