import type { LogLevel } from '../../log/logger.js';
import type { StrategyName } from '../../planner/rebalance.js';
import type { AutoLoadObject } from '../autoLoad.js';
import type { ConfigNode } from '../configNodes.js';
import type { PostgresSslMode } from '../postgres.js';
import { duration, text, type ValueType } from '../valueTypes.js';

export type LoadMetric = 'objects' | 'calls';
export type OutputFormat = 'table' | 'json';
export type DbSynchronous = 'full' | 'normal';

/** Every setting of both binaries, resolved. Durations are milliseconds; an empty string means "not set". */
export interface GoverseConfig {
  // Cluster: shared by every process of one cluster.
  readonly numShards: number;
  readonly etcdEndpoints: readonly string[];
  readonly etcdPrefix: string;
  readonly etcdCaFile: string;
  readonly etcdCertFile: string;
  readonly etcdKeyFile: string;
  readonly etcdUser: string;
  readonly etcdPassword: string;
  readonly etcdPasswordFile: string;
  readonly etcdTimeout: number;
  readonly rebalanceBatchSize: number;
  readonly imbalanceThreshold: number;
  readonly stabilityDuration: number;
  readonly shardCheckInterval: number;
  readonly leaseTtl: number;
  readonly minQuorum: number;
  readonly stuckTimeout: number;
  readonly shutdownTimeout: number;
  readonly fastShutdown: boolean;
  readonly rebalanceStrategy: StrategyName;
  readonly loadMetric: LoadMetric;
  readonly loadHysteresis: number;
  readonly loadSettle: number;
  readonly rebalanceMoveBudget: number;
  readonly maxPause: number;
  readonly historyMaxEntries: number;
  readonly historyMaxAge: number;
  readonly lockTimeout: number;
  readonly lockMaxHold: number;
  readonly lockWarnThreshold: number;
  readonly shardWriteDeadline: number;
  readonly shardWriteAttemptTimeout: number;
  readonly shardWriteBackoff: number;
  readonly shardWriteBackoffMax: number;
  readonly defaultCallTimeout: number;
  readonly defaultCreateTimeout: number;
  readonly defaultDeleteTimeout: number;
  readonly autoLoadObjects: readonly AutoLoadObject[];
  readonly keyValueMaxBytes: number;
  // Node: one goverse-node process.
  readonly listen: string;
  readonly advertise: string;
  readonly httpListen: string;
  readonly nodeId: string;
  readonly weight: number;
  readonly dbPath: string;
  readonly dbAdoptCluster: string;
  readonly dbDisposable: boolean;
  readonly dbSynchronous: DbSynchronous;
  readonly dbGroupMaxSize: number;
  readonly dbGroupMaxWait: number;
  readonly postgresUrl: string;
  readonly postgresHost: string;
  readonly postgresPort: number;
  readonly postgresUser: string;
  readonly postgresPassword: string;
  readonly postgresPasswordFile: string;
  readonly postgresDatabase: string;
  readonly postgresSslmode: PostgresSslMode;
  readonly postgresMaxOpenConns: number;
  readonly postgresMaxIdleConns: number;
  readonly adminToken: string;
  readonly adminListen: string;
  readonly maxConnections: number;
  readonly maxBodyBuffer: number;
  readonly testDisableFencing: boolean;
  // Logging: both binaries.
  readonly logLevel: LogLevel;
  readonly logFile: string;
  readonly eventLog: string;
  // Console and scripted subcommands.
  readonly refresh: number;
  readonly readOnly: boolean;
  readonly noColor: boolean;
  readonly metricsUrl: readonly string[];
  readonly configNodes: readonly ConfigNode[];
  readonly prometheusUrl: string;
  readonly output: OutputFormat;
}

export type SettingName = keyof GoverseConfig;

/** Which binary reads the environment, file and flags: goverse-node (`node`) or goverse-top (`cli`). */
export type ConfigScope = 'node' | 'cli';

export type SettingGroup = 'cluster' | 'node' | 'logging' | 'console';

interface SettingBase<T> {
  readonly group: SettingGroup;
  /** Out of scope, a setting keeps its default and its environment variable, YAML key and flag are not read. */
  readonly usedBy: 'both' | ConfigScope;
  readonly type: ValueType<T>;
  readonly description: string;
  readonly env?: string;
  /** Dotted path in the YAML file; `nodes[].x` is read from the `nodes` entry selected by the node ID. */
  readonly yaml?: string;
  readonly flag?: string;
  readonly shortFlag?: string;
  /** Any non-empty value of the variable means true (the NO_COLOR convention). */
  readonly envPresence?: boolean;
  /** Never echoed in error messages. */
  readonly secret?: boolean;
}

/** A default is a value, or is computed from settings declared earlier in the table. */
export type SettingSpec<T> = SettingBase<T> &
  (
    | { readonly default: T; readonly defaultText?: string }
    | { readonly derive: (earlier: GoverseConfig) => T; readonly defaultText: string }
  );

/** Part of the table: settings of one group (or a run of one), each typed by its configuration field. */
export type SettingTable = { readonly [K in SettingName]?: SettingSpec<GoverseConfig[K]> };

export const filePath = text({ expected: 'a file path', valid: () => true });
export const positiveDuration = duration({ positive: true });
const PREFIX_FORM = /^\/\S*$/;
export const isPrefix = (s: string): boolean => PREFIX_FORM.test(s) && s.length > 1 && !s.endsWith('/');
