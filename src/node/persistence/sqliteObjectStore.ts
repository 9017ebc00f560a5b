import Database from 'better-sqlite3';
import { closeSync, openSync } from 'node:fs';
import { systemClock, type Clock } from '../../core/clock.js';
import { NODE_SETTINGS } from '../../core/config/settings/node.js';
import { GoverseError } from '../../core/errors.js';
import { backoffDelay, sleep } from '../../edge/timing.js';
import { clusterBinding, type ClusterBinding } from './clusterBinding.js';
import { PersistenceError, StaleEpochError } from './errors.js';
import { GroupedObjectStore } from './groupedObjectStore.js';
import { failedGroup, type GroupLimits, type Settled } from './groupCommit.js';
import { describeWrite, type StoreWrite, type StoreWriteResult } from './objectStore.js';

/**
 * The embedded default ObjectStore: one SQLite file shared by every node process of a machine.
 *
 * WAL mode lets readers proceed while one process writes; the busy timeout makes a writer wait for another
 * process's transaction instead of failing. better-sqlite3 is synchronous and SQLite's own busy wait would block the
 * event loop (keepalives, calls, timers) for as long as the lock is held, so SQLite waits only briefly and the rest
 * of the busy timeout is spent in asynchronous retries. Writing transactions start IMMEDIATE (take the write lock up
 * front): a deferred transaction that reads and then writes can fail with SQLITE_BUSY without waiting, when another
 * process committed in between.
 *
 * Loads, saves and deletes go through group commit (`GroupCommit`): the writes queued when the store is free commit
 * in one transaction, one fsync for all of them, a few statements per write. Each write is fenced on its own and at
 * most one of its statements writes, so a write refused (stale epoch) or failed alone is undone by SQLite's
 * statement rollback and the others commit. An error that ends the transaction fails the whole group: the write
 * that caused it with its own error, the others retriably (their writes were sound).
 *
 * The file is created 0600; SQLite gives the -wal and -shm files the database file's mode.
 */
export const SCHEMA_VERSION = 1;

export interface SqliteObjectStoreOptions {
  /** How long a statement waits for another process's write lock. Default 5000 ms. */
  busyTimeoutMs?: number;
  /**
   * `full` (default) syncs the WAL on every commit: acknowledged writes survive power loss. `normal` survives a
   * process crash (kill -9) but may lose the last commits on an OS crash or power loss; it is much faster on disks
   * with slow fsync.
   */
  synchronous?: 'full' | 'normal';
  /** Group commit bounds. Default: the settings' defaults (`--db-group-max-size`, `--db-group-max-wait`). */
  group?: GroupLimits;
  clock?: Clock;
}

const DEFAULT_GROUP: GroupLimits = {
  maxSize: NODE_SETTINGS.dbGroupMaxSize.default,
  maxWaitMs: NODE_SETTINGS.dbGroupMaxWait.default,
};

/** SQLite's own (synchronous, loop-blocking) wait for a lock: enough for another node's group (a few ms). */
const SYNC_BUSY_MS = 20;
/** Pause between attempts while another process holds the write lock. */
const RETRY_BASE_MS = 10;
const RETRY_MAX_MS = 200;

interface Row {
  state: string;
  epoch: number;
}

const BUSY_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY']);
/** Failures that can pass (besides busy): a full disk, I/O errors, memory. Corruption and misuse cannot. */
const TRANSIENT_CODES = new Set(['SQLITE_FULL', 'SQLITE_NOMEM', 'SQLITE_INTERRUPT', 'SQLITE_PROTOCOL']);

export class SqliteObjectStore extends GroupedObjectStore {
  private readonly select: Database.Statement<[string, string], Row>;
  private readonly selectEpoch: Database.Statement<[string, string], { epoch: number }>;
  private readonly insert: Database.Statement<[string, string, string, number, number]>;
  private readonly raise: Database.Statement<[number, string, string]>;
  private readonly update: Database.Statement<[string, number, number, string, string, number]>;
  private readonly remove: Database.Statement<[string, string, number]>;
  private readonly groupTx: (writes: readonly StoreWrite[]) => Settled<StoreWriteResult>[];
  private readonly bindTx: (cluster: string, adoptFrom: string | undefined) => ClusterBinding;
  private readonly writeProbe: Database.Statement<[number]>;
  private readonly clearProbe: Database.Statement<[]>;

  private constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    private readonly busyTimeoutMs: number,
    private readonly clock: Clock,
    group: GroupLimits,
  ) {
    super(group, clock);
    this.select = db.prepare('SELECT state, epoch FROM objects WHERE type = ? AND id = ?');
    this.selectEpoch = db.prepare('SELECT epoch FROM objects WHERE type = ? AND id = ?');
    this.insert = db.prepare('INSERT INTO objects (type, id, state, epoch, updated_at) VALUES (?, ?, ?, ?, ?)');
    this.raise = db.prepare('UPDATE objects SET epoch = ? WHERE type = ? AND id = ?');
    this.update = db.prepare(
      'UPDATE objects SET state = ?, epoch = ?, updated_at = ? WHERE type = ? AND id = ? AND epoch <= ?',
    );
    this.remove = db.prepare('DELETE FROM objects WHERE type = ? AND id = ? AND epoch <= ?');
    const commitGroup = db.transaction((writes: readonly StoreWrite[]) =>
      writes.map((w, index): Settled<StoreWriteResult> => {
        try {
          return { ok: true, value: this.apply(w) };
        } catch (err) {
          if (!db.inTransaction) throw new TransactionEnded(index, err);
          return { ok: false, error: asPersistenceError(err, `${this.path}: ${describeWrite(w)} failed`) };
        }
      }),
    );
    this.groupTx = (writes) => commitGroup.immediate(writes);
    const selectCluster = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'cluster'");
    const upsertCluster = db.prepare<[string]>(
      "INSERT INTO meta (key, value) VALUES ('cluster', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
    const bind = db.transaction((cluster: string, adoptFrom: string | undefined): ClusterBinding => {
      const binding = clusterBinding(this.path, selectCluster.get()?.value ?? null, cluster, adoptFrom);
      if (binding.kind !== 'matched') upsertCluster.run(cluster);
      return binding;
    });
    this.bindTx = (cluster, adoptFrom) => bind.immediate(cluster, adoptFrom);
    this.writeProbe = db.prepare(
      "INSERT INTO meta (key, value) VALUES ('probe', zeroblob(?)) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
    this.clearProbe = db.prepare("DELETE FROM meta WHERE key = 'probe'");
  }

  /** Opens (creating if needed) the database file, switches it to WAL and creates or checks the schema. */
  static open(path: string, options: SqliteObjectStoreOptions = {}): SqliteObjectStore {
    let db: Database.Database | undefined;
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    try {
      createPrivate(path);
      // Opening (WAL switch, schema) is start-up work: it may block for the whole busy timeout.
      db = new Database(path, { timeout: busyTimeoutMs });
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new PersistenceError(`${path}: cannot switch to WAL mode (journal mode is ${String(mode)})`);
      db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      ensureSchema(db, path);
      db.pragma(`busy_timeout = ${Math.min(SYNC_BUSY_MS, busyTimeoutMs)}`);
      return new SqliteObjectStore(db, path, busyTimeoutMs, options.clock ?? systemClock, options.group ?? DEFAULT_GROUP);
    } catch (err) {
      db?.close();
      throw asPersistenceError(err, `${path}: cannot open the object database`);
    }
  }

  async bindCluster(cluster: string, adoptFrom?: string): Promise<ClusterBinding> {
    return this.run('bind cluster', () => this.bindTx(cluster, adoptFrom));
  }

  /** Commits a row of `bytes` bytes (the space a failed write needed), then removes it. */
  async probe(bytes: number): Promise<void> {
    await this.run('probe', () => {
      this.writeProbe.run(Math.max(1, Math.floor(bytes)));
      this.clearProbe.run();
    });
  }

  protected async release(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** One write inside the group's transaction; throws StaleEpochError (nothing written) when it is fenced. */
  private apply(w: StoreWrite): StoreWriteResult {
    const { key, epoch } = w;
    switch (w.kind) {
      case 'load': {
        const row = this.select.get(key.type, key.id);
        if (row === undefined) {
          this.insert.run(key.type, key.id, w.initialState, epoch, this.clock.now());
          return { state: w.initialState, created: true };
        }
        if (row.epoch > epoch) throw new StaleEpochError(key, epoch, row.epoch);
        if (row.epoch < epoch) this.raise.run(epoch, key.type, key.id);
        return { state: row.state, created: false };
      }
      case 'save': {
        if (this.update.run(w.state, epoch, this.clock.now(), key.type, key.id, epoch).changes > 0) return;
        throw new StaleEpochError(key, epoch, this.selectEpoch.get(key.type, key.id)?.epoch ?? null);
      }
      case 'delete': {
        if (this.remove.run(key.type, key.id, epoch).changes > 0) return true;
        const stored = this.selectEpoch.get(key.type, key.id);
        if (stored !== undefined) throw new StaleEpochError(key, epoch, stored.epoch);
        return false;
      }
    }
  }

  /**
   * Commits a group in one transaction (waiting out other processes' locks). When the transaction fails, every
   * write of the group fails: with the transaction's error, or, when one write's error ended it, that write with its
   * own and the others retriably.
   */
  protected async commitGroup(writes: readonly StoreWrite[]): Promise<Settled<StoreWriteResult>[]> {
    try {
      return await this.retryBusy(() => this.groupTx(writes));
    } catch (raw) {
      const ended = raw instanceof TransactionEnded;
      return failedGroup(writes, ended ? raw.cause : raw, ended ? raw.index : null, {
        describe: describeWrite,
        asError: asPersistenceError,
        location: this.path,
      });
    }
  }

  /** Runs one transaction and converts its failure; see retryBusy. */
  private async run<T>(what: string, fn: () => T): Promise<T> {
    try {
      return await this.retryBusy(fn);
    } catch (err) {
      throw asPersistenceError(err, `${this.path}: ${what} failed`);
    }
  }

  /** Runs one transaction; while the database is busy, retries with backoff until the busy timeout has passed. */
  private async retryBusy<T>(fn: () => T): Promise<T> {
    const deadline = this.clock.monotonic() + this.busyTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return fn();
      } catch (err) {
        const left = deadline - this.clock.monotonic();
        if (!(err instanceof Database.SqliteError && BUSY_CODES.has(err.code)) || left <= 0) throw err;
        await sleep(Math.min(left, backoffDelay(attempt, RETRY_BASE_MS, RETRY_MAX_MS)));
      }
    }
  }
}

/** Thrown out of a group's transaction when a write's error ended it (SQLite rolled it back). */
class TransactionEnded extends Error {
  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super('the transaction ended', { cause });
  }
}

function ensureSchema(db: Database.Database, path: string): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID');
    const row = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").get();
    if (row === undefined) {
      db.exec(
        `CREATE TABLE objects (
           type TEXT NOT NULL,
           id TEXT NOT NULL,
           state TEXT NOT NULL,
           epoch INTEGER NOT NULL,
           updated_at INTEGER NOT NULL,
           PRIMARY KEY (type, id)
         ) WITHOUT ROWID`,
      );
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    } else if (row.value !== String(SCHEMA_VERSION)) {
      throw new PersistenceError(
        `${path}: schema version ${row.value} is not supported (this build reads version ${SCHEMA_VERSION})`,
      );
    }
  }).immediate();
}

/** Creates the database file 0600 if it is missing (SQLite would create it 0644); an existing file is left alone. */
function createPrivate(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * Typed errors pass through; others become a PersistenceError naming SQLite's code and message, retriable when the
 * failure can pass (busy, full, I/O).
 */
function asPersistenceError(err: unknown, message: string): unknown {
  if (err instanceof GoverseError) return err;
  const code = err instanceof Database.SqliteError ? err.code : null;
  const detail = err instanceof Error ? err.message : String(err);
  const transient = code !== null && (BUSY_CODES.has(code) || TRANSIENT_CODES.has(code) || code.startsWith('SQLITE_IOERR'));
  return new PersistenceError(`${message}: ${code === null ? detail : `${code}: ${detail}`}`, {
    cause: err,
    retriable: transient,
    storeCode: code,
  });
}
