import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { PersistenceError } from './errors.js';
import { SCHEMA_VERSION } from './sqliteObjectStore.js';

/** One stored object as both stores keep it. */
export interface StoredRow {
  readonly type: string;
  readonly id: string;
  readonly state: string;
  readonly epoch: number;
  readonly updatedAt: number;
}

/**
 * A SQLite object database opened read-only as the source of a move (`goverse-node db import`): its cluster, its
 * row count and its rows in key order, in batches. Reading takes no write lock, but nodes still writing the file
 * would make the copy a moving target: the import refuses while the cluster's nodes serve.
 */
export class SqliteSource {
  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
    /** The cluster the file belongs to; null when no node ever bound it. */
    readonly cluster: string | null,
    readonly count: number,
  ) {}

  /** Throws PersistenceError for a missing file, a file that is not our database, or another schema version. */
  static open(path: string): SqliteSource {
    if (!existsSync(path)) throw new PersistenceError(`${path}: no such file`);
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      const meta = (key: string): string | null =>
        db!.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(key)?.value ?? null;
      const version = meta('schema_version');
      if (version !== String(SCHEMA_VERSION)) {
        throw new PersistenceError(`${path}: schema version ${version ?? 'missing'} is not supported (this build reads version ${SCHEMA_VERSION})`);
      }
      const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM objects').get()!.n;
      return new SqliteSource(db, path, meta('cluster'), count);
    } catch (err) {
      db?.close();
      if (err instanceof PersistenceError) throw err;
      throw new PersistenceError(`${path}: not a goverse object database: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The rows in key order, `size` at a time. */
  *batches(size: number): Generator<StoredRow[]> {
    const rows = this.db
      .prepare<[], { type: string; id: string; state: string; epoch: number; updated_at: number }>(
        'SELECT type, id, state, epoch, updated_at FROM objects ORDER BY type, id',
      )
      .iterate();
    let batch: StoredRow[] = [];
    for (const r of rows) {
      batch.push({ type: r.type, id: r.id, state: r.state, epoch: r.epoch, updatedAt: r.updated_at });
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  close(): void {
    this.db.close();
  }
}
