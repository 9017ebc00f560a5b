import { homedir, tmpdir } from 'node:os';
import type { Clock } from '../core/clock.js';
import { type GoverseConfig, SETTINGS, settingLabel } from '../core/config/settings.js';
import type { Logger } from '../core/log/logger.js';
import { createPrivateFolder, defaultDatabasePath, openToOthers, temporaryDirectoryOf } from './persistence/databaseFile.js';
import { SqliteObjectStore } from './persistence/sqliteObjectStore.js';

/** Directories whose contents do not survive a reboot (or a tmp cleaner). */
function temporaryDirectories(): string[] {
  return [...new Set([tmpdir(), '/tmp', '/dev/shm'])];
}

/**
 * Opens the node's object database and binds it to the node's cluster: the path from `--db` or the per-user default
 * (its folder created 0700), warnings for a path in the tmp directory or a file other users can read, then the
 * cluster check (ClusterMismatchError, exit 2, for another cluster's database).
 */
export async function openObjectDatabase(
  config: GoverseConfig,
  logger: Logger,
  clock: Clock,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<SqliteObjectStore> {
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
  const adoptFlag = SETTINGS.dbAdoptCluster.flag!;
  const store = SqliteObjectStore.open(path, {
    clock,
    synchronous: config.dbSynchronous,
    group: { maxSize: config.dbGroupMaxSize, maxWaitMs: config.dbGroupMaxWait },
  });
  try {
    const adoptFrom = config.dbAdoptCluster === '' ? undefined : config.dbAdoptCluster;
    const binding = await store.bindCluster(config.etcdPrefix, adoptFrom);
    if (binding.kind === 'adopted') {
      logger.warn(`object database ${path} moved from cluster ${binding.from} to ${config.etcdPrefix} (${adoptFlag}); the setting can be removed now`, {
        db: path,
      });
    } else if (binding.kind === 'recorded') {
      logger.info(`object database ${path} now belongs to cluster ${config.etcdPrefix}`, { db: path });
    } else if (adoptFrom !== undefined) {
      logger.info(`object database ${path} already belongs to cluster ${config.etcdPrefix}; ${adoptFlag} can be removed`, { db: path });
    }
    logger.info('object database opened', { db: path, default: isDefault });
    return store;
  } catch (err) {
    await store.close();
    throw err;
  }
}
