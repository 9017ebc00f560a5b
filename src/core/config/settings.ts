import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogLevel } from '../log/logger.js';
import { memberAddressProblem } from '../keyspace/nodeAddress.js';
import { advertiseFor, isEtcdEndpoint, isListenAddress } from './addresses.js';
import { autoLoadObjects, type AutoLoadObject } from './autoLoad.js';
import { bool, decimal, duration, integer, list, oneOf, text, type ValueType } from './valueTypes.js';

export type RebalanceStrategy = 'count' | 'weighted' | 'load';
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
  readonly rebalanceStrategy: RebalanceStrategy;
  readonly loadMetric: LoadMetric;
  readonly loadHysteresis: number;
  readonly loadSettle: number;
  readonly rebalanceMoveBudget: number;
  readonly lockTimeout: number;
  readonly lockMaxHold: number;
  readonly lockWarnThreshold: number;
  readonly defaultCallTimeout: number;
  readonly defaultCreateTimeout: number;
  readonly defaultDeleteTimeout: number;
  readonly autoLoadObjects: readonly AutoLoadObject[];
  // Node: one goverse-node process.
  readonly listen: string;
  readonly advertise: string;
  readonly httpListen: string;
  readonly nodeId: string;
  readonly weight: number;
  readonly dbPath: string;
  readonly dbSynchronous: DbSynchronous;
  readonly adminToken: string;
  readonly adminListen: string;
  // Logging: both binaries.
  readonly logLevel: LogLevel;
  readonly logFile: string;
  readonly eventLog: string;
  // Console and scripted subcommands.
  readonly refresh: number;
  readonly readOnly: boolean;
  readonly noColor: boolean;
  readonly metricsUrl: readonly string[];
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

const anyText = text({ expected: 'any text', valid: () => true });
const filePath = text({ expected: 'a file path', valid: () => true });
const positiveDuration = duration({ positive: true });
const listenAddress = text({ expected: 'a listen address host:port such as :48000 or 127.0.0.1:48000', valid: isListenAddress });

export const SETTINGS: { readonly [K in SettingName]: SettingSpec<GoverseConfig[K]> } = {
  numShards: {
    group: 'cluster',
    usedBy: 'both',
    type: integer({ min: 1 }),
    default: 8192,
    env: 'GOVERSE_NUM_SHARDS',
    yaml: 'cluster.shards',
    flag: '--num-shards',
    description: 'Number of shards objects hash into; every process of a cluster must agree.',
  },
  etcdEndpoints: {
    group: 'cluster',
    usedBy: 'both',
    type: list({
      expected: 'a comma-separated list of etcd endpoints host:port (an http:// or https:// prefix is allowed)',
      item: isEtcdEndpoint,
      minItems: 1,
    }),
    default: ['127.0.0.1:2379'],
    env: 'GOVERSE_ETCD_ENDPOINTS',
    yaml: 'cluster.etcd.endpoints',
    flag: '--etcd',
    description: 'etcd endpoints; calls fail over between them (upstream uses only the first).',
  },
  etcdPrefix: {
    group: 'cluster',
    usedBy: 'both',
    type: text({
      expected: 'a key prefix starting with / and not ending with /, such as /goverse',
      valid: (s) => /^\/\S*$/.test(s) && s.length > 1 && !s.endsWith('/'),
    }),
    default: '/goverse',
    env: 'GOVERSE_ETCD_PREFIX',
    yaml: 'cluster.etcd.prefix',
    flag: '--etcd-prefix',
    description: 'Key prefix of the cluster in etcd.',
  },
  etcdCaFile: {
    group: 'cluster',
    usedBy: 'both',
    type: filePath,
    default: '',
    env: 'GOVERSE_ETCD_CACERT',
    yaml: 'cluster.etcd.tls.ca_file',
    flag: '--cacert',
    description: 'PEM file of the CA that signed the etcd server certificates; setting it turns TLS on.',
  },
  etcdCertFile: {
    group: 'cluster',
    usedBy: 'both',
    type: filePath,
    default: '',
    env: 'GOVERSE_ETCD_CERT',
    yaml: 'cluster.etcd.tls.cert_file',
    flag: '--cert',
    description: 'Client certificate (PEM) for etcd servers that require client authentication; needs the key.',
  },
  etcdKeyFile: {
    group: 'cluster',
    usedBy: 'both',
    type: filePath,
    default: '',
    env: 'GOVERSE_ETCD_KEY',
    yaml: 'cluster.etcd.tls.key_file',
    flag: '--key',
    description: 'Private key (PEM) of the client certificate.',
  },
  etcdUser: {
    group: 'cluster',
    usedBy: 'both',
    type: text({ expected: 'user or user:password', valid: (s) => s === '' || /^[^:]+(:.*)?$/s.test(s) }),
    default: '',
    env: 'GOVERSE_ETCD_USER',
    flag: '--user',
    secret: true,
    description: 'etcd user name; `user:password` also sets the password.',
  },
  etcdPassword: {
    group: 'cluster',
    usedBy: 'both',
    type: anyText,
    default: '',
    env: 'GOVERSE_ETCD_PASSWORD',
    secret: true,
    description: 'etcd password. Environment only, so it never shows in a process list.',
  },
  etcdTimeout: {
    group: 'cluster',
    usedBy: 'both',
    type: positiveDuration,
    default: 5000,
    env: 'GOVERSE_ETCD_TIMEOUT',
    yaml: 'cluster.etcd.timeout',
    flag: '--timeout',
    description: 'Deadline of each etcd call, and of connecting when no connection is up.',
  },
  rebalanceBatchSize: {
    group: 'cluster',
    usedBy: 'both',
    type: integer({ min: 1 }),
    derive: (c) => Math.max(1, Math.floor(c.numShards / 128)),
    defaultText: 'max(1, numShards / 128)',
    env: 'GOVERSE_REBALANCE_BATCH_SIZE',
    yaml: 'cluster.rebalance_batch_size',
    description: 'Most shards the count rebalance moves per round.',
  },
  imbalanceThreshold: {
    group: 'cluster',
    usedBy: 'both',
    type: decimal({ min: 0, max: 1 }),
    default: 0.2,
    env: 'GOVERSE_IMBALANCE_THRESHOLD',
    yaml: 'cluster.imbalance_threshold',
    description: 'Rebalance when (max - min) / max shards per node exceeds this fraction.',
  },
  stabilityDuration: {
    group: 'cluster',
    usedBy: 'both',
    type: duration(),
    default: 10_000,
    env: 'GOVERSE_STABILITY_DURATION',
    yaml: 'cluster.cluster_state_stability_duration',
    description: 'How long the set of alive nodes must stay unchanged before the leader retargets or rebalances.',
  },
  shardCheckInterval: {
    group: 'cluster',
    usedBy: 'node',
    type: positiveDuration,
    default: 5000,
    env: 'GOVERSE_SHARD_CHECK_INTERVAL',
    yaml: 'cluster.shard_check_interval',
    description: 'Safety tick of the shard lifecycle; watch events trigger passes in between.',
  },
  leaseTtl: {
    group: 'cluster',
    usedBy: 'node',
    type: duration({ wholeSecondsMin: 2 }),
    default: 15_000,
    env: 'GOVERSE_LEASE_TTL',
    yaml: 'cluster.lease_ttl',
    description: 'TTL of the node lease; a node that loses etcd for this long stops serving (fencing).',
  },
  minQuorum: {
    group: 'cluster',
    usedBy: 'both',
    type: integer({ min: 1 }),
    default: 1,
    env: 'GOVERSE_MIN_QUORUM',
    yaml: 'cluster.min_quorum',
    description: 'Alive nodes needed before the leader assigns shards.',
  },
  stuckTimeout: {
    group: 'cluster',
    usedBy: 'both',
    type: positiveDuration,
    default: 60_000,
    env: 'GOVERSE_STUCK_TIMEOUT',
    yaml: 'cluster.stuck_shard_reallocation_timeout',
    flag: '--stuck-timeout',
    description: 'Age after which a migration counts as stuck and the leader recovers it.',
  },
  shutdownTimeout: {
    group: 'cluster',
    usedBy: 'node',
    type: duration(),
    default: 30_000,
    env: 'GOVERSE_SHUTDOWN_TIMEOUT',
    yaml: 'cluster.shutdown_timeout',
    description: 'Longest a graceful stop waits for its shards to be handed over before it deregisters anyway.',
  },
  fastShutdown: {
    group: 'cluster',
    usedBy: 'node',
    type: bool(),
    default: false,
    env: 'GOVERSE_FAST_SHUTDOWN',
    yaml: 'cluster.fast_shutdown',
    flag: '--fast-shutdown',
    description: 'Stop without handing shards over, keeping assignments for a quick restart.',
  },
  rebalanceStrategy: {
    group: 'cluster',
    usedBy: 'both',
    type: oneOf(['count', 'weighted', 'load']),
    default: 'count',
    env: 'GOVERSE_REBALANCE_STRATEGY',
    yaml: 'cluster.rebalance_strategy',
    description: 'count: upstream semantics; weighted: shards against node weight; load: objects or calls against weight.',
  },
  loadMetric: {
    group: 'cluster',
    usedBy: 'both',
    type: oneOf(['objects', 'calls']),
    default: 'calls',
    env: 'GOVERSE_LOAD_METRIC',
    yaml: 'cluster.load_metric',
    description: 'What the load strategy balances: objects per shard or smoothed call rate.',
  },
  loadHysteresis: {
    group: 'cluster',
    usedBy: 'both',
    type: decimal({ min: 0, minInclusive: true, max: 1, maxExclusive: true }),
    default: 0.1,
    env: 'GOVERSE_LOAD_HYSTERESIS',
    yaml: 'cluster.load_hysteresis',
    description: 'Load strategy: a node within this fraction of its ideal load is left alone.',
  },
  loadSettle: {
    group: 'cluster',
    usedBy: 'both',
    type: duration(),
    default: 10_000,
    env: 'GOVERSE_LOAD_SETTLE',
    yaml: 'cluster.load_settle',
    description:
      'Load strategy: after moving shards the leader waits this long (and for every move to complete) before it plans again, so the nodes\' load reports reflect the moves.',
  },
  rebalanceMoveBudget: {
    group: 'cluster',
    usedBy: 'both',
    type: integer({ min: 1 }),
    derive: (c) => c.rebalanceBatchSize,
    defaultText: 'same as rebalanceBatchSize',
    env: 'GOVERSE_REBALANCE_MOVE_BUDGET',
    yaml: 'cluster.rebalance_move_budget',
    description: 'Load strategy: most shards moved per round (count and weighted use the batch size).',
  },
  lockTimeout: {
    group: 'cluster',
    usedBy: 'node',
    type: positiveDuration,
    default: 30_000,
    env: 'GOVERSE_LOCK_TIMEOUT',
    yaml: 'cluster.lock_timeout',
    description: 'Longest wait for a shard lock.',
  },
  lockMaxHold: {
    group: 'cluster',
    usedBy: 'node',
    type: positiveDuration,
    default: 60_000,
    env: 'GOVERSE_LOCK_MAX_HOLD',
    yaml: 'cluster.lock_max_hold',
    description: 'A shard lock held longer is force-released with an error log.',
  },
  lockWarnThreshold: {
    group: 'cluster',
    usedBy: 'node',
    type: duration(),
    default: 1000,
    env: 'GOVERSE_LOCK_WARN_THRESHOLD',
    yaml: 'cluster.lock_warn_threshold',
    description: 'Acquiring a shard lock slower than this logs a warning.',
  },
  defaultCallTimeout: {
    group: 'cluster',
    usedBy: 'both',
    type: positiveDuration,
    default: 30_000,
    env: 'GOVERSE_DEFAULT_CALL_TIMEOUT',
    yaml: 'cluster.default_call_timeout',
    description: 'Deadline of an object call that sets none.',
  },
  defaultCreateTimeout: {
    group: 'cluster',
    usedBy: 'both',
    type: positiveDuration,
    default: 30_000,
    env: 'GOVERSE_DEFAULT_CREATE_TIMEOUT',
    yaml: 'cluster.default_create_timeout',
    description: 'Deadline of an object creation that sets none.',
  },
  defaultDeleteTimeout: {
    group: 'cluster',
    usedBy: 'both',
    type: positiveDuration,
    default: 30_000,
    env: 'GOVERSE_DEFAULT_DELETE_TIMEOUT',
    yaml: 'cluster.default_delete_timeout',
    description: 'Deadline of an object deletion that sets none.',
  },
  autoLoadObjects: {
    group: 'cluster',
    usedBy: 'node',
    type: autoLoadObjects,
    default: [],
    yaml: 'cluster.auto_load_objects',
    description: 'Objects created at start: entries {type, id, per_shard, per_node}; per_shard and per_node exclude each other.',
  },
  listen: {
    group: 'node',
    usedBy: 'node',
    type: listenAddress,
    default: ':48000',
    env: 'GOVERSE_LISTEN',
    yaml: 'nodes[].grpc_addr',
    flag: '--listen',
    description: 'Address of the object API (HTTP); upstream calls it the gRPC address.',
  },
  advertise: {
    group: 'node',
    usedBy: 'node',
    type: text({
      expected: 'a host:port other processes can dial, such as node1.internal:48000 (printable ASCII, at most 255 characters)',
      valid: (s) => memberAddressProblem(s) === null,
    }),
    derive: (c) => advertiseFor(c.listen),
    defaultText: 'listen, with a wildcard host replaced by localhost',
    env: 'GOVERSE_ADVERTISE',
    yaml: 'nodes[].advertise_addr',
    flag: '--advertise',
    description: 'Address this node registers in etcd and shard values; peers and clients dial it.',
  },
  httpListen: {
    group: 'node',
    usedBy: 'node',
    type: text({ expected: 'empty or a listen address host:port such as :8080', valid: (s) => s === '' || isListenAddress(s) }),
    default: '',
    defaultText: 'empty: no operations server',
    env: 'GOVERSE_HTTP_LISTEN',
    yaml: 'nodes[].http_addr',
    flag: '--http-listen',
    description: 'Operations server: /metrics, /healthz, /ready.',
  },
  nodeId: {
    group: 'node',
    usedBy: 'node',
    type: text({ expected: 'a node ID without white space', valid: (s) => /^\S+$/.test(s) }),
    derive: (c) => c.advertise,
    defaultText: 'the advertise address',
    env: 'GOVERSE_NODE_ID',
    yaml: 'nodes[].id',
    flag: '--node-id',
    description: 'Node identity; with a config file it selects the `nodes` entry (optional when there is one entry).',
  },
  weight: {
    group: 'node',
    usedBy: 'node',
    type: decimal({ min: 0 }),
    default: 1,
    env: 'GOVERSE_NODE_WEIGHT',
    yaml: 'nodes[].weight',
    flag: '--weight',
    description: 'Capacity relative to other nodes; weighted and load strategies give it a proportional share.',
  },
  dbPath: {
    group: 'node',
    usedBy: 'node',
    type: text({ expected: 'a file path', valid: (s) => s !== '' }),
    default: join(tmpdir(), 'goverse-node.sqlite'),
    defaultText: 'goverse-node.sqlite in os.tmpdir()',
    env: 'GOVERSE_DB_PATH',
    flag: '--db',
    description: 'SQLite database of object state, shared by the nodes of one machine.',
  },
  dbSynchronous: {
    group: 'node',
    usedBy: 'node',
    type: oneOf(['full', 'normal']),
    default: 'full',
    env: 'GOVERSE_DB_SYNCHRONOUS',
    flag: '--db-synchronous',
    description:
      'SQLite sync policy. `full`: every commit reaches the disk before the reply (acknowledged writes survive power loss). ' +
      '`normal`: survives a process crash (kill -9) but an OS crash or power loss can lose the last commits; much faster on slow-fsync disks.',
  },
  adminToken: {
    group: 'node',
    usedBy: 'node',
    type: anyText,
    default: '',
    defaultText: 'empty: admin API refuses everything',
    env: 'GOVERSE_ADMIN_TOKEN',
    secret: true,
    description: 'Bearer token of the admin API. Environment only.',
  },
  adminListen: {
    group: 'node',
    usedBy: 'node',
    type: listenAddress,
    default: '127.0.0.1:0',
    env: 'GOVERSE_ADMIN_LISTEN',
    flag: '--admin-listen',
    description: 'Address of the admin API (pin, retarget, release, drain, pause); loopback unless told otherwise.',
  },
  logLevel: {
    group: 'logging',
    usedBy: 'both',
    type: oneOf(['debug', 'info', 'warn', 'error']),
    default: 'info',
    env: 'GOVERSE_LOG_LEVEL',
    flag: '--log-level',
    description: 'Least severe level logged.',
  },
  logFile: {
    group: 'logging',
    usedBy: 'both',
    type: filePath,
    default: '',
    defaultText: 'empty: stderr (goverse-top: no log)',
    env: 'GOVERSE_LOG_FILE',
    flag: '--log-file',
    description: 'Write JSON log lines to this file.',
  },
  eventLog: {
    group: 'logging',
    usedBy: 'node',
    type: filePath,
    default: '',
    defaultText: 'empty: none',
    env: 'GOVERSE_EVENT_LOG',
    flag: '--event-log',
    description: 'Append object activation and deactivation events to this file (used by tests).',
  },
  refresh: {
    group: 'console',
    usedBy: 'cli',
    type: duration({ positive: true, bareSeconds: true }),
    default: 2000,
    env: 'GOVERSE_REFRESH',
    flag: '--refresh',
    shortFlag: '-r',
    description: 'Console refresh interval (metrics scrapes; etcd changes show at once).',
  },
  readOnly: {
    group: 'console',
    usedBy: 'cli',
    type: bool(),
    default: false,
    env: 'GOVERSE_READ_ONLY',
    flag: '--read-only',
    description: 'Refuse every mutation; the console hides its write keys.',
  },
  noColor: {
    group: 'console',
    usedBy: 'cli',
    type: bool(),
    default: false,
    env: 'NO_COLOR',
    envPresence: true,
    flag: '--no-color',
    description: 'Plain output without colour; NO_COLOR set to anything non-empty does the same.',
  },
  metricsUrl: {
    group: 'console',
    usedBy: 'cli',
    type: list({
      expected: 'a URL template with {host} or {addr} such as http://{host}:8080/metrics, or a comma-separated list of http(s) URLs',
      item: (s) => /^https?:\/\/\S+$/.test(s),
      minItems: 0,
    }),
    default: [],
    defaultText: 'none: TypeScript nodes are found through nodeinfo',
    env: 'GOVERSE_METRICS_URL',
    flag: '--metrics-url',
    description: 'Where to scrape nodes that publish no nodeinfo (upstream nodes).',
  },
  output: {
    group: 'console',
    usedBy: 'cli',
    type: oneOf(['table', 'json']),
    default: 'table',
    env: 'GOVERSE_OUTPUT',
    flag: '--output',
    shortFlag: '-o',
    description: 'Output format of scripted subcommands.',
  },
};

/** Table order: derived defaults may read only the settings before them. */
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

export function inScope(name: SettingName, scope: ConfigScope): boolean {
  const usedBy = SETTINGS[name].usedBy;
  return usedBy === 'both' || usedBy === scope;
}

/** The default as the docs and `--help` show it. */
export function defaultText(name: SettingName): string {
  const spec = SETTINGS[name] as SettingSpec<unknown>;
  if (spec.defaultText !== undefined) return spec.defaultText;
  return 'default' in spec ? spec.type.format(spec.default) : '';
}
