import pg from 'pg';
import { systemClock, type Clock } from '../../core/clock.js';
import { postgresLocation, type PostgresTarget } from '../../core/config/postgres.js';
import { NODE_SETTINGS } from '../../core/config/settings/node.js';
import { GoverseError } from '../../core/errors.js';
import type { Logger } from '../../core/log/logger.js';
import { clusterBinding, type ClusterBinding } from './clusterBinding.js';
import { PersistenceError, StaleEpochError } from './errors.js';
import { GroupedObjectStore } from './groupedObjectStore.js';
import { failedGroup, type GroupLimits, type Settled } from './groupCommit.js';
import { describeWrite, type ObjectKey, type StoreWrite, type StoreWriteResult } from './objectStore.js';
import { createSchema, inspectSchema, PG_SCHEMA, PG_SCHEMA_LOCK, schemaProblem } from './postgresSchema.js';

/**
 * The ObjectStore on a PostgreSQL database shared by every node of a cluster, on every machine: a shard that moves
 * to a node on another machine finds its objects' state there.
 *
 * The guarantees are the SQLite store's. Durable before the reply: every connection runs with
 * `synchronous_commit = on`, so a commit returns once its WAL is flushed. Fenced in the database: each write is a
 * conditional write (`epoch <= mine`) inside the transaction, never a check in memory. The cluster identity is
 * recorded and checked in one transaction (`bindCluster`). Group commit through `GroupCommit`: a group of writes is
 * one statement (`apply_writes`, postgresSchema.ts), one round trip and one WAL flush, while the writes that arrive
 * meanwhile queue for the next group. A write refused by its epoch fails alone; an error raised by one write rolls
 * its group back, that write failing with its own error and the others retriably; a lost connection fails the group
 * retriably (a commit in doubt is safe to retry: a retried call carries its request ID).
 *
 * Writes sort their rows by key inside a group, so the transactions of several nodes lock rows in one order and
 * never deadlock each other.
 */
export interface PostgresObjectStoreOptions {
  /** Group commit bounds. Default: the settings' defaults (`--db-group-max-size`, `--db-group-max-wait`). */
  readonly group?: GroupLimits;
  readonly clock?: Clock;
  /** Connections lost while idle (the server restarted) are logged here. */
  readonly logger?: Logger;
  /** How long opening a connection may take. Default 5 s. */
  readonly connectTimeoutMs?: number;
}

const DEFAULT_GROUP: GroupLimits = {
  maxSize: NODE_SETTINGS.dbGroupMaxSize.default,
  maxWaitMs: NODE_SETTINGS.dbGroupMaxWait.default,
};

const APPLY = {
  name: 'goverse_apply_writes',
  text: `SELECT w_outcome, w_state, w_epoch FROM ${PG_SCHEMA}.apply_writes($1, $2, $3, $4, $5, $6)`,
};

interface AppliedRow {
  w_outcome: 'created' | 'loaded' | 'saved' | 'deleted' | 'absent' | 'stale';
  w_state: string | null;
  /** bigint arrives as text. */
  w_epoch: string | null;
}

export class PostgresObjectStore extends GroupedObjectStore {
  readonly location: string;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly target: PostgresTarget,
    private readonly clock: Clock,
    group: GroupLimits,
  ) {
    super(group, clock);
    this.location = postgresLocation(target);
  }

  /**
   * Connects, and creates the schema when the database has none or checks it (another version, or our names holding
   * something else, is refused). Throws PersistenceError; the pool is closed again then.
   */
  static async open(target: PostgresTarget, options: PostgresObjectStoreOptions = {}): Promise<PostgresObjectStore> {
    const pool = new pg.Pool(poolConfig(target, options.connectTimeoutMs ?? 5000));
    pool.on('connect', (client) => {
      // A checked-out client whose connection breaks emits 'error' besides failing its query: handled by the query.
      client.on('error', () => undefined);
    });
    pool.on('error', (err) => options.logger?.info('PostgreSQL connection lost while idle', { db: postgresLocation(target), err }));
    const store = new PostgresObjectStore(pool, target, options.clock ?? systemClock, options.group ?? DEFAULT_GROUP);
    try {
      await store.transaction('open the object database', async (client) => {
        await client.query(PG_SCHEMA_LOCK);
        const state = await inspectSchema(client);
        if (state.kind === 'absent') await createSchema(client);
        else {
          const problem = schemaProblem(state);
          if (problem !== null) throw new PersistenceError(`${store.location}: ${problem}`);
        }
      });
      const fsync = await store.withClient('read the server settings', (client) => client.query<{ fsync: string }>('SHOW fsync'));
      if (fsync.rows[0]?.fsync === 'off') {
        options.logger?.warn(
          `PostgreSQL at ${store.location} runs with fsync = off: acknowledged writes would not survive a crash of the database server's machine`,
          { db: store.location },
        );
      }
      return store;
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
  }

  bindCluster(cluster: string, adoptFrom?: string): Promise<ClusterBinding> {
    return this.transaction('bind cluster', async (client) => {
      await client.query(PG_SCHEMA_LOCK);
      const { rows } = await client.query<{ value: string }>(`SELECT value FROM ${PG_SCHEMA}.meta WHERE key = 'cluster'`);
      const binding = clusterBinding(this.location, rows[0]?.value ?? null, cluster, adoptFrom);
      if (binding.kind !== 'matched') {
        await client.query(
          `INSERT INTO ${PG_SCHEMA}.meta (key, value) VALUES ('cluster', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
          [cluster],
        );
      }
      return binding;
    });
  }

  /** Commits a row of `bytes` bytes (the space a failed write needed) and removes it, in one transaction. */
  async probe(bytes: number): Promise<void> {
    const size = Math.max(1, Math.floor(bytes));
    await this.withClient('probe', (client) =>
      // One simple query with two statements: one implicit transaction, one commit.
      client.query(
        `INSERT INTO ${PG_SCHEMA}.meta (key, value) VALUES ('probe', repeat('0', ${size})) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;` +
          `DELETE FROM ${PG_SCHEMA}.meta WHERE key = 'probe'`,
      ),
    );
  }

  protected async release(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  /** One group: one statement, in key order (see the class comment), each write fenced on its own. */
  protected async commitGroup(writes: readonly StoreWrite[]): Promise<Settled<StoreWriteResult>[]> {
    const order = writes.map((_, i) => i).sort((a, b) => compareKeys(writes[a]!.key, writes[b]!.key) || a - b);
    const sent = order.map((i) => writes[i]!);
    const values = [
      sent.map((w) => w.kind),
      sent.map((w) => w.key.type),
      sent.map((w) => w.key.id),
      sent.map((w) => w.epoch),
      sent.map((w) => (w.kind === 'load' ? w.initialState : w.kind === 'save' ? w.state : null)),
      this.clock.now(),
    ];
    let rows: AppliedRow[];
    try {
      rows = (await this.withClient(null, (client) => client.query<AppliedRow>({ ...APPLY, values }))).rows;
      if (rows.length !== sent.length) throw new PersistenceError(`apply_writes returned ${rows.length} outcomes for ${sent.length} writes`);
    } catch (err) {
      const culprit = culpritOf(err, sent.length);
      return failedGroup(writes, err, culprit === null ? null : order[culprit]!, {
        describe: describeWrite,
        asError: asPersistenceError,
        location: this.location,
      });
    }
    const outcomes: Settled<StoreWriteResult>[] = new Array(writes.length);
    order.forEach((original, j) => {
      outcomes[original] = outcome(writes[original]!, rows[j]!);
    });
    return outcomes;
  }

  /** Runs `fn` in one transaction on one connection; see withClient. */
  private transaction<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(what, async (client) => {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * Runs `fn` on a pooled connection. A connection that failed is closed rather than reused; one released beyond
   * `max_idle_conns` idle ones is closed too. With `what`, failures become PersistenceErrors naming it.
   */
  private async withClient<T>(what: string | null, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const result = await fn(client);
      client.release(this.pool.idleCount >= this.target.maxIdleConns);
      return result;
    } catch (err) {
      client?.release(true);
      throw what === null ? err : asPersistenceError(err, `${this.location}: ${what} failed`);
    }
  }
}

function outcome(w: StoreWrite, row: AppliedRow): Settled<StoreWriteResult> {
  switch (row.w_outcome) {
    case 'created':
    case 'loaded':
      return { ok: true, value: { state: row.w_state!, created: row.w_outcome === 'created' } };
    case 'saved':
      return { ok: true, value: undefined };
    case 'deleted':
    case 'absent':
      return { ok: true, value: row.w_outcome === 'deleted' };
    case 'stale':
      return { ok: false, error: new StaleEpochError(w.key, w.epoch, row.w_epoch === null ? null : Number(row.w_epoch)) };
  }
}

function compareKeys(a: ObjectKey, b: ObjectKey): number {
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The write (0-based, in the order sent) whose error ended the group: apply_writes names it in the detail. */
function culpritOf(err: unknown, count: number): number | null {
  const detail = (err as { detail?: unknown }).detail;
  const match = typeof detail === 'string' ? /^write=(\d+)/.exec(detail) : null;
  const n = match === null ? 0 : Number(match[1]);
  return n >= 1 && n <= count ? n - 1 : null;
}

/** How to reach the database: one connection of the store's pool, or of the `db` tool. */
export function connectionConfig(target: PostgresTarget, connectTimeoutMs: number): pg.ClientConfig {
  return {
    host: target.host,
    port: target.port,
    ...(target.user === '' ? {} : { user: target.user }),
    ...(target.password === '' ? {} : { password: target.password }),
    ...(target.database === '' ? {} : { database: target.database }),
    ssl: sslOptions(target),
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    application_name: 'goverse-node',
    // Durable before the reply, whatever the server's or the role's default.
    options: '-c synchronous_commit=on',
  };
}

function poolConfig(target: PostgresTarget, connectTimeoutMs: number): pg.PoolConfig {
  // Idle connections are closed by count (max_idle_conns, on release), not by age.
  return { ...connectionConfig(target, connectTimeoutMs), max: target.maxOpenConns, idleTimeoutMillis: 0 };
}

/** libpq's sslmode in the driver's terms; verify-ca checks the chain against the system CAs, not the host name. */
function sslOptions(target: PostgresTarget): pg.ClientConfig['ssl'] {
  switch (target.sslmode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true, servername: target.host };
  }
}

/** SQLSTATE classes that can pass: connection exceptions, serialization and deadlocks, insufficient resources, operator intervention (shutdown, start-up), system errors (I/O). */
const TRANSIENT_CLASSES = new Set(['08', '40', '53', '57', '58']);
/** Single SQLSTATEs that can pass: lock not available, a read-only server (a standby before failover completes). */
const TRANSIENT_STATES = new Set(['55P03', '25006']);
/** Socket errors: the server is down, restarting or unreachable for now. */
const TRANSIENT_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** The driver's error code: a SQLSTATE, a socket errno, or ours for a connection lost or not made in time. */
function errorCode(err: unknown): string | null {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  const message = err instanceof Error ? err.message : '';
  if (/^Connection terminated/.test(message)) return 'CONNECTION_LOST';
  if (/timeout exceeded when trying to connect|connection timeout/i.test(message)) return 'CONNECT_TIMEOUT';
  return null;
}

/**
 * Typed errors pass through; others become a PersistenceError naming the driver's code (`storeCode`) and message,
 * retriable when the failure can pass (the server down or restarting, a lost connection, a deadlock, a full disk).
 */
export function asPersistenceError(err: unknown, message: string): unknown {
  if (err instanceof GoverseError) return err;
  const code = errorCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  const transient =
    code !== null &&
    (code === 'CONNECTION_LOST' || code === 'CONNECT_TIMEOUT' || TRANSIENT_ERRNOS.has(code) || TRANSIENT_STATES.has(code) ||
      (code.length === 5 && TRANSIENT_CLASSES.has(code.slice(0, 2)) && code !== '57P04'));
  return new PersistenceError(`${message}: ${code === null ? detail : `${code}: ${detail}`}`, { cause: err, retriable: transient, storeCode: code });
}
