import pg from 'pg';
import { postgresLocation, type PostgresTarget } from '../../core/config/postgres.js';
import { ConfigError } from '../../core/errors.js';
import { clusterBinding, ClusterMismatchError } from './clusterBinding.js';
import { PersistenceError } from './errors.js';
import { asPersistenceError, connectionConfig } from './postgresObjectStore.js';
import { createSchema, inspectSchema, PG_SCHEMA, PG_SCHEMA_LOCK, schemaProblem, type SchemaState } from './postgresSchema.js';
import type { SqliteSource } from './sqliteSource.js';

/** What `goverse-node db status` shows. */
export interface DatabaseStatus {
  readonly database: string;
  readonly server: string;
  readonly schema: SchemaState;
  /** The cluster the database belongs to; null when none recorded (or no schema). */
  readonly cluster: string | null;
  /** Rows per object type (empty without a schema). */
  readonly objects: Readonly<Record<string, number>>;
}

/** How an import went: rows inserted, rows replaced by newer ones, rows the database already had as new or newer. */
export interface ImportResult {
  readonly rows: number;
  readonly inserted: number;
  readonly updated: number;
  readonly kept: number;
  readonly binding: 'recorded' | 'matched';
}

const IMPORT_BATCH = 500;

/**
 * The schema tool's operations on our tables in a PostgreSQL database (`goverse-node db ...`), on one connection.
 * Failures are PersistenceErrors naming the database; schema problems are SchemaProblemError.
 */
export class PostgresAdmin {
  readonly location: string;

  private constructor(private readonly client: pg.Client, target: PostgresTarget) {
    this.location = postgresLocation(target);
  }

  static async connect(target: PostgresTarget): Promise<PostgresAdmin> {
    const client = new pg.Client(connectionConfig(target, 10_000));
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      throw asPersistenceError(err, `${postgresLocation(target)}: cannot connect`);
    }
    return new PostgresAdmin(client, target);
  }

  /** Creates the schema when there is none; `created` false when it was already current. */
  init(): Promise<{ created: boolean }> {
    return this.transaction('init', async () => {
      await this.client.query(PG_SCHEMA_LOCK);
      const state = await inspectSchema(this.client);
      if (state.kind === 'absent') {
        await createSchema(this.client);
        return { created: true };
      }
      this.requireCurrent(state);
      return { created: false };
    });
  }

  /** The schema's state, and the problem with a node of `cluster` using this database, if any. */
  async verify(cluster: string): Promise<{ state: SchemaState; problem: string | null }> {
    const { schema: state, cluster: recorded } = await this.status();
    const problem = schemaProblem(state);
    if (problem !== null) return { state, problem: `${this.location}: ${problem}` };
    try {
      clusterBinding(this.location, recorded, cluster);
      return { state, problem: null };
    } catch (err) {
      if (err instanceof ClusterMismatchError) return { state, problem: err.message };
      throw err;
    }
  }

  status(): Promise<DatabaseStatus> {
    return this.run('status', async () => {
      const server = (await this.client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
      const schema = await inspectSchema(this.client);
      if (schema.kind !== 'current') return { database: this.location, server, schema, cluster: null, objects: {} };
      const cluster = await this.client.query<{ value: string }>(`SELECT value FROM ${PG_SCHEMA}.meta WHERE key = 'cluster'`);
      const counts = await this.client.query<{ type: string; n: string }>(`SELECT type, count(*) AS n FROM ${PG_SCHEMA}.objects GROUP BY type ORDER BY type`);
      return {
        database: this.location,
        server,
        schema,
        cluster: cluster.rows[0]?.value ?? null,
        objects: Object.fromEntries(counts.rows.map((r) => [r.type, Number(r.n)])),
      };
    });
  }

  /** Drops our schema (every object and the cluster identity) and creates it again, empty. */
  reset(): Promise<void> {
    return this.transaction('reset', async () => {
      await this.client.query(PG_SCHEMA_LOCK);
      await this.client.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
      await createSchema(this.client);
    });
  }

  /**
   * Copies the objects of `source` (a SQLite database of `cluster`) in one transaction. The database must be of the
   * same cluster or of none (it is then recorded). A row replaces the one stored only when it is newer (a higher
   * epoch, or the same epoch written later), so running the import again changes nothing, and state that nodes
   * already wrote here is never rolled back.
   */
  importFrom(source: SqliteSource, cluster: string): Promise<ImportResult> {
    if (source.cluster !== cluster) {
      throw new ConfigError(
        `SQLite database ${source.path}`,
        source.cluster === null ? `records no cluster, so it cannot be told to be ${cluster}'s` : `belongs to cluster ${source.cluster}, not to ${cluster}`,
      );
    }
    return this.transaction('import', async () => {
      await this.client.query(PG_SCHEMA_LOCK);
      const state = await inspectSchema(this.client);
      if (state.kind === 'absent') await createSchema(this.client);
      else this.requireCurrent(state);
      const recorded = await this.client.query<{ value: string }>(`SELECT value FROM ${PG_SCHEMA}.meta WHERE key = 'cluster'`);
      const binding = clusterBinding(this.location, recorded.rows[0]?.value ?? null, cluster);
      if (binding.kind === 'recorded') await this.client.query(`INSERT INTO ${PG_SCHEMA}.meta (key, value) VALUES ('cluster', $1)`, [cluster]);
      let inserted = 0;
      let updated = 0;
      for (const batch of source.batches(IMPORT_BATCH)) {
        const { rows } = await this.client.query<{ inserted: boolean }>(
          `INSERT INTO ${PG_SCHEMA}.objects AS o (type, id, state, epoch, updated_at)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
           ON CONFLICT (type, id) DO UPDATE SET state = EXCLUDED.state, epoch = EXCLUDED.epoch, updated_at = EXCLUDED.updated_at
             WHERE (o.epoch, o.updated_at) < (EXCLUDED.epoch, EXCLUDED.updated_at)
           RETURNING (o.xmax = 0) AS inserted`,
          [batch.map((r) => r.type), batch.map((r) => r.id), batch.map((r) => r.state), batch.map((r) => r.epoch), batch.map((r) => r.updatedAt)],
        );
        for (const r of rows) if (r.inserted) inserted++;
        else updated++;
      }
      return { rows: source.count, inserted, updated, kept: source.count - inserted - updated, binding: binding.kind === 'recorded' ? 'recorded' : 'matched' };
    });
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  private requireCurrent(state: SchemaState): void {
    const problem = schemaProblem(state);
    if (problem !== null) throw new SchemaProblemError(`${this.location}: ${problem}`);
  }

  private async transaction<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return this.run(what, async () => {
      await this.client.query('BEGIN');
      try {
        const result = await fn();
        await this.client.query('COMMIT');
        return result;
      } catch (err) {
        await this.client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw asPersistenceError(err, `${this.location}: ${what} failed`);
    }
  }
}

/** The database's schema is not one this build can use (another version, or damaged): a problem found (exit 4). */
export class SchemaProblemError extends PersistenceError {}
