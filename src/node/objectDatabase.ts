import { homedir, tmpdir } from 'node:os';
import type { Clock } from '../core/clock.js';
import { isLoopbackHost } from '../core/config/addresses.js';
import { postgresLocation, postgresTarget, type PostgresTarget } from '../core/config/postgres.js';
import { type GoverseConfig, SETTINGS, settingLabel } from '../core/config/settings.js';
import { ConfigError, describeError } from '../core/errors.js';
import type { Logger } from '../core/log/logger.js';
import { createPrivateFolder, defaultDatabasePath, openToOthers, temporaryDirectoryOf } from './persistence/databaseFile.js';
import type { ObjectStore } from './persistence/objectStore.js';
import { SqliteObjectStore } from './persistence/sqliteObjectStore.js';

/** Directories whose contents do not survive a reboot (or a tmp cleaner). */
function temporaryDirectories(): string[] {
  return [...new Set([tmpdir(), '/tmp', '/dev/shm'])];
}

/** The node's object store, which kind it is, and how logs name it (a file path, or a URL without its password). */
export interface ObjectDatabase {
  readonly store: ObjectStore;
  readonly kind: 'sqlite' | 'postgres';
  readonly location: string;
}

/**
 * Opens the node's object database and binds it to the node's cluster: PostgreSQL when the configuration names one
 * (the YAML `postgres:` block or `--postgres-url`), else SQLite at `--db` or the per-user default. Then the cluster
 * check (ClusterMismatchError, exit 2, for another cluster's database).
 */
export async function openObjectDatabase(
  config: GoverseConfig,
  logger: Logger,
  clock: Clock,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ObjectDatabase> {
  const target = postgresTarget(config);
  const database = target === null ? openSqlite(config, logger, clock, env) : await openPostgres(target, config, logger, clock);
  const { store, location } = database;
  const adoptFlag = SETTINGS.dbAdoptCluster.flag!;
  try {
    const adoptFrom = config.dbAdoptCluster === '' ? undefined : config.dbAdoptCluster;
    const binding = await store.bindCluster(config.etcdPrefix, adoptFrom);
    if (binding.kind === 'adopted') {
      logger.warn(`object database ${location} moved from cluster ${binding.from} to ${config.etcdPrefix} (${adoptFlag}); the setting can be removed now`, {
        db: location,
      });
    } else if (binding.kind === 'recorded') {
      logger.info(`object database ${location} now belongs to cluster ${config.etcdPrefix}`, { db: location });
    } else if (adoptFrom !== undefined) {
      logger.info(`object database ${location} already belongs to cluster ${config.etcdPrefix}; ${adoptFlag} can be removed`, { db: location });
    }
    logger.info('object database opened', { db: location, store: database.kind, default: target === null && config.dbPath === '' });
    return database;
  } catch (err) {
    await store.close();
    throw err;
  }
}

/**
 * The SQLite file: its folder created 0700 for the default path, warnings for a path in the tmp directory or a file
 * other users can read.
 */
function openSqlite(config: GoverseConfig, logger: Logger, clock: Clock, env: Readonly<Record<string, string | undefined>>): ObjectDatabase {
  const isDefault = config.dbPath === '';
  const path = isDefault ? defaultDatabasePath(config.etcdPrefix, env, homedir()) : config.dbPath;
  if (isDefault) createPrivateFolder(path);
  const tmp = temporaryDirectoryOf(path, temporaryDirectories());
  if (tmp !== null && !config.dbDisposable) {
    logger.warn(
      `object database ${path} is in the temporary directory ${tmp}, which is wiped on reboot (and by tmp cleaners): ` +
        `acknowledged writes would not survive; set ${settingLabel('dbPath')} to a durable path`,
      { db: path },
    );
  }
  const mode = openToOthers(path);
  if (mode !== null) {
    logger.warn(`object database ${path} has mode ${mode.toString(8).padStart(4, '0')}: other users can read it; chmod 600 it (and its -wal and -shm files)`, {
      db: path,
    });
  }
  const store = SqliteObjectStore.open(path, {
    clock,
    synchronous: config.dbSynchronous,
    group: { maxSize: config.dbGroupMaxSize, maxWaitMs: config.dbGroupMaxWait },
  });
  return { store, kind: 'sqlite', location: path };
}

/**
 * PostgreSQL: a database that cannot be reached, or whose schema this build cannot use, stops the start with a
 * ConfigError (exit 2) naming it. A database beyond loopback reached without TLS is warned about.
 */
async function openPostgres(target: PostgresTarget, config: GoverseConfig, logger: Logger, clock: Clock): Promise<ObjectDatabase> {
  const location = postgresLocation(target);
  if (target.sslmode === 'disable' && !isLoopbackHost(target.host)) {
    logger.warn(`object database ${location} is reached without TLS (sslmode disable): object state and queries cross the network in clear text`, {
      db: location,
      advice: 'set postgres.sslmode (or ?sslmode= in the URL) to verify-full, or reach the server over a private network',
    });
  }
  // Loaded only here: the driver takes a noticeable share of a node's start-up, which every SQLite node would pay.
  const { PostgresObjectStore } = await import('./persistence/postgresObjectStore.js');
  try {
    const store = await PostgresObjectStore.open(target, {
      clock,
      logger,
      group: { maxSize: config.dbGroupMaxSize, maxWaitMs: config.dbGroupMaxWait },
    });
    return { store, kind: 'postgres', location };
  } catch (err) {
    throw new ConfigError(
      `object database ${location}`,
      `cannot be used: ${describeError(err).replace(`${location}: `, '')}; check the server, the postgres settings (or --postgres-url) and goverse-node db verify`,
      // The driver's own error: its message is already part of this one.
      { cause: err instanceof Error && err.cause !== undefined ? err.cause : err },
    );
  }
}
