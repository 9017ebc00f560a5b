import { describe, expect, it } from 'vitest';
import { resolveConfig, type ResolveOptions } from '../../../../src/core/config/resolve.js';
import { SETTING_NAMES, SETTINGS } from '../../../../src/core/config/settings.js';
import { shardWriteRetryFromConfig } from '../../../../src/core/config/shardWriteRetry.js';
import { memberSettingsFromConfig } from '../../../../src/core/planner/settings.js';
import { ConfigError, InvalidArgumentError } from '../../../../src/core/errors.js';

const file = (text: string) => ({ path: 'goverse.yaml', text });
const resolve = (options: Partial<ResolveOptions>) => resolveConfig({ scope: 'node', env: {}, ...options });

/** The ConfigError thrown, so a test can check both its source and its message. */
function configError(options: Partial<ResolveOptions>): ConfigError {
  try {
    resolve(options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveConfig: precedence', () => {
  it('uses the defaults when nothing is given', () => {
    const { config, sources, warnings } = resolve({});
    expect(config).toMatchObject({
      numShards: 8192,
      etcdEndpoints: ['127.0.0.1:2379'],
      etcdPrefix: '/goverse',
      etcdTimeout: 5000,
      rebalanceBatchSize: 64,
      rebalanceMoveBudget: 64,
      imbalanceThreshold: 0.2,
      stabilityDuration: 10_000,
      shardCheckInterval: 5000,
      leaseTtl: 15_000,
      minQuorum: 1,
      stuckTimeout: 60_000,
      shutdownTimeout: 30_000,
      rebalanceStrategy: 'count',
      loadMetric: 'calls',
      listen: ':48000',
      advertise: 'localhost:48000',
      nodeId: 'localhost:48000',
      httpListen: '',
      weight: 1,
      adminListen: '127.0.0.1:0',
      logLevel: 'info',
      refresh: 2000,
      output: 'table',
    });
    // Empty: the node resolves its per-user default at start (the core reads no environment of its own).
    expect(config).toMatchObject({ dbPath: '', dbAdoptCluster: '', dbDisposable: false, keyValueMaxBytes: 1024 * 1024 });
    expect(Object.values(sources).every((s) => s === 'default')).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('layers defaults < file < env < flags, per setting', () => {
    const { config, sources } = resolve({
      file: file('cluster:\n  shards: 64\n  imbalance_threshold: 0.5\n  min_quorum: 2\n  etcd:\n    prefix: /from-file\n'),
      env: { GOVERSE_NUM_SHARDS: '128', GOVERSE_IMBALANCE_THRESHOLD: '0.3' },
      flags: { numShards: '256' },
    });
    expect(config.numShards).toBe(256);
    expect(sources.numShards).toBe('flag');
    expect(config.imbalanceThreshold).toBe(0.3);
    expect(sources.imbalanceThreshold).toBe('env');
    expect(config.minQuorum).toBe(2);
    expect(sources.minQuorum).toBe('file');
    expect(config.etcdPrefix).toBe('/from-file');
    expect(sources.stabilityDuration).toBe('default');
  });

  it('computes defaults from the settings they depend on, after those are resolved', () => {
    expect(resolve({ env: { GOVERSE_NUM_SHARDS: '64' } }).config).toMatchObject({ rebalanceBatchSize: 1, rebalanceMoveBudget: 1 });
    expect(resolve({ file: file('cluster: {shards: 1024}') }).config.rebalanceBatchSize).toBe(8);
    expect(resolve({ flags: { numShards: '1000' } }).config.rebalanceBatchSize).toBe(7);
    const explicit = resolve({ env: { GOVERSE_REBALANCE_BATCH_SIZE: '5' } });
    expect(explicit.config).toMatchObject({ rebalanceBatchSize: 5, rebalanceMoveBudget: 5 });
    expect(explicit.sources.rebalanceMoveBudget).toBe('default');
    expect(resolve({ flags: { listen: '0.0.0.0:7000' } }).config).toMatchObject({ advertise: 'localhost:7000', nodeId: 'localhost:7000' });
    expect(resolve({ flags: { listen: '10.1.2.3:7000' } }).config.advertise).toBe('10.1.2.3:7000');
    expect(resolve({ flags: { advertise: 'n1.internal:7000' } }).config.nodeId).toBe('n1.internal:7000');
  });

  it('lets callers replace built-in defaults, below every other source', () => {
    const { config, sources } = resolve({ defaults: { numShards: 64, stabilityDuration: 0 }, env: { GOVERSE_STABILITY_DURATION: '1s' } });
    expect(config.numShards).toBe(64);
    expect(sources.numShards).toBe('default');
    expect(config.rebalanceBatchSize).toBe(1);
    expect(config.stabilityDuration).toBe(1000);
  });

  it('reads each type from the environment', () => {
    const { config } = resolve({
      scope: 'cli',
      env: {
        GOVERSE_ETCD_ENDPOINTS: ' 10.0.0.1:2379 , https://10.0.0.2:2379',
        GOVERSE_STUCK_TIMEOUT: '1m30s',
        GOVERSE_REBALANCE_STRATEGY: 'weighted',
        GOVERSE_READ_ONLY: 'yes',
        GOVERSE_REFRESH: '0.5',
        GOVERSE_METRICS_URL: 'http://{host}:8080/metrics',
        GOVERSE_LOAD_HYSTERESIS: '0',
        NO_COLOR: '0',
      },
    });
    expect(config).toMatchObject({
      etcdEndpoints: ['10.0.0.1:2379', 'https://10.0.0.2:2379'],
      stuckTimeout: 90_000,
      rebalanceStrategy: 'weighted',
      readOnly: true,
      refresh: 500,
      metricsUrl: ['http://{host}:8080/metrics'],
      loadHysteresis: 0,
      noColor: true,
    });
  });

  it('treats an empty environment variable as unset', () => {
    const { config, sources } = resolve({ env: { GOVERSE_NUM_SHARDS: '', NO_COLOR: '' }, scope: 'cli' });
    expect(config.numShards).toBe(8192);
    expect(config.noColor).toBe(false);
    expect(sources.numShards).toBe('default');
  });

  it('takes typed flag values as commander gives them', () => {
    const { config } = resolve({ flags: { fastShutdown: true, etcdEndpoints: ['a:1', 'b:2'], weight: '2.5', etcdTimeout: '4s' } });
    expect(config).toMatchObject({ fastShutdown: true, etcdEndpoints: ['a:1', 'b:2'], weight: 2.5, etcdTimeout: 4000 });
  });

  it('reads only the settings of its binary; the others keep their defaults', () => {
    const env = { GOVERSE_REFRESH: 'garbage', GOVERSE_LEASE_TTL: 'garbage', GOVERSE_NUM_SHARDS: '64' };
    expect(resolve({ scope: 'node', env: { ...env, GOVERSE_LEASE_TTL: '20s' } }).config).toMatchObject({ refresh: 2000, leaseTtl: 20_000, numShards: 64 });
    expect(resolve({ scope: 'cli', env: { ...env, GOVERSE_REFRESH: '5s' } }).config).toMatchObject({ refresh: 5000, leaseTtl: 15_000, numShards: 64 });
  });
});

describe('resolveConfig: errors name the source and the accepted form', () => {
  it.each([
    [{ flags: { numShards: '-5' } }, 'flag --num-shards', 'invalid value "-5": expected an integer from 1 to 1048576'],
    [{ env: { GOVERSE_NUM_SHARDS: '12abc' } }, 'env GOVERSE_NUM_SHARDS', 'invalid value "12abc": expected an integer from 1 to 1048576'],
    [{ env: { GOVERSE_NUM_SHARDS: '1e3' } }, 'env GOVERSE_NUM_SHARDS', 'expected an integer from 1 to 1048576'],
    [{ flags: { numShards: '1048577' } }, 'flag --num-shards', 'invalid value "1048577": expected an integer from 1 to 1048576'],
    [{ env: { GOVERSE_NUM_SHARDS: '100000000' } }, 'env GOVERSE_NUM_SHARDS', 'expected an integer from 1 to 1048576'],
    [{ env: { GOVERSE_MAX_PAUSE: '0' } }, 'env GOVERSE_MAX_PAUSE', 'greater than 0, at most 8760h'],
    [{ env: { GOVERSE_MAX_PAUSE: '2400000h' } }, 'env GOVERSE_MAX_PAUSE', 'at most 8760h'],
    [{ env: { GOVERSE_STABILITY_DURATION: '10' } }, 'env GOVERSE_STABILITY_DURATION', 'expected a duration such as 500ms, 10s, 1m'],
    [{ env: { GOVERSE_STABILITY_DURATION: '10 seconds' } }, 'env GOVERSE_STABILITY_DURATION', 'expected a duration such as 500ms, 10s, 1m'],
    [{ env: { GOVERSE_LEASE_TTL: '2500ms' } }, 'env GOVERSE_LEASE_TTL', 'in whole seconds, at least 2s'],
    [{ env: { GOVERSE_SHARD_CHECK_INTERVAL: '0' } }, 'env GOVERSE_SHARD_CHECK_INTERVAL', 'greater than 0'],
    [{ env: { GOVERSE_IMBALANCE_THRESHOLD: '0' } }, 'env GOVERSE_IMBALANCE_THRESHOLD', 'expected a number in (0, 1]'],
    [{ env: { GOVERSE_IMBALANCE_THRESHOLD: '1.5' } }, 'env GOVERSE_IMBALANCE_THRESHOLD', 'expected a number in (0, 1]'],
    [{ env: { GOVERSE_NODE_WEIGHT: '0' } }, 'env GOVERSE_NODE_WEIGHT', 'expected a number > 0'],
    [{ env: { GOVERSE_REBALANCE_STRATEGY: 'round-robin' } }, 'env GOVERSE_REBALANCE_STRATEGY', 'invalid value "round-robin": expected one of count, weighted, load'],
    [{ env: { GOVERSE_LOG_LEVEL: 'verbose' } }, 'env GOVERSE_LOG_LEVEL', 'expected one of debug, info, warn, error'],
    [{ env: { GOVERSE_FAST_SHUTDOWN: 'on' } }, 'env GOVERSE_FAST_SHUTDOWN', 'expected true or false (also 1/0, yes/no)'],
    [{ env: { GOVERSE_ETCD_ENDPOINTS: 'a:1,,b:2' } }, 'env GOVERSE_ETCD_ENDPOINTS', 'expected a comma-separated list of etcd endpoints'],
    [{ env: { GOVERSE_ETCD_ENDPOINTS: 'localhost' } }, 'env GOVERSE_ETCD_ENDPOINTS', 'host:port'],
    [{ env: { GOVERSE_ETCD_PREFIX: 'goverse' } }, 'env GOVERSE_ETCD_PREFIX', 'expected a key prefix starting with /'],
    [{ env: { GOVERSE_ETCD_PREFIX: '/goverse/' } }, 'env GOVERSE_ETCD_PREFIX', 'not ending with /'],
    [{ flags: { listen: 'localhost' } }, 'flag --listen', 'expected a listen address host:port'],
    [{ flags: { listen: ':70000' } }, 'flag --listen', 'expected a listen address host:port'],
    [{ flags: { advertise: ':48000' } }, 'flag --advertise', 'other processes can dial'],
    [{ flags: { nodeId: 'node 1' } }, 'flag --node-id', 'without white space'],
    [{ flags: { httpListen: 'nope' } }, 'flag --http-listen', 'empty or a listen address'],
    [{ scope: 'cli' as const, flags: { refresh: '0s' } }, 'flag --refresh', 'greater than 0'],
    [{ scope: 'cli' as const, flags: { metricsUrl: 'node1:8080' } }, 'flag --metrics-url', 'a URL template with {host} or {addr}'],
    [{ scope: 'cli' as const, flags: { output: 'yaml' } }, 'flag --output', 'expected one of table, json'],
  ])('%j', (options, source, message) => {
    const err = configError(options);
    expect(err.source).toBe(source);
    expect(err.message.startsWith(`${source}: `)).toBe(true);
    expect(err.message).toContain(message);
    expect(err.code).toBe('config');
    expect(err.retriable).toBe(false);
  });

  it('validates a value even when a stronger source overrides it', () => {
    const err = configError({ env: { GOVERSE_NUM_SHARDS: 'many' }, flags: { numShards: '64' } });
    expect(err.source).toBe('env GOVERSE_NUM_SHARDS');
  });

  it('names the file, the key path and the line for file values', () => {
    const err = configError({ file: file('version: 1\ncluster:\n  shards: -5\n') });
    expect(err.source).toBe('goverse.yaml:cluster.shards');
    expect(err.message).toBe('goverse.yaml:cluster.shards: invalid value -5: expected an integer from 1 to 1048576 (line 3)');
    expect(configError({ file: file('cluster:\n  shards: 2097152\n') }).message).toBe(
      'goverse.yaml:cluster.shards: invalid value 2097152: expected an integer from 1 to 1048576 (line 2)',
    );
    const duration = configError({ file: file('cluster:\n  cluster_state_stability_duration: 10\n') });
    expect(duration.message).toBe(
      'goverse.yaml:cluster.cluster_state_stability_duration: invalid value 10: expected a duration such as 500ms, 10s, 1m or 1m30s (units ns, us, ms, s, m, h) (line 2)',
    );
    const endpoints = configError({ file: file('cluster:\n  etcd:\n    endpoints: "a:1,,b"\n') });
    expect(endpoints.source).toBe('goverse.yaml:cluster.etcd.endpoints');
    const autoLoad = configError({ file: file('cluster:\n  auto_load_objects:\n    - {type: A, id: x}\n    - {type: B, id: y, per_shard: true, per_node: true}\n') });
    expect(autoLoad.source).toBe('goverse.yaml:cluster.auto_load_objects[1]');
    expect(autoLoad.message).toContain('mutually exclusive');
  });

  it("reads the nodes list for goverse-top: each node's address and http_addr, skipping entries with neither", () => {
    const yaml = [
      'nodes:',
      '  - {id: n0, grpc_addr: ":48000", advertise_addr: "10.0.0.5:48000", http_addr: ":8080"}',
      '  - {id: n1, grpc_addr: "10.0.0.6:48000", http_addr: "10.0.0.6:8080"}', // no advertise_addr: grpc_addr
      '  - {id: n2, grpc_addr: ":48000", http_addr: ":8080"}', // no address other processes can dial
      '  - {id: n3, advertise_addr: "10.0.0.8:48000"}', // no HTTP server
      '',
    ].join('\n');
    const cli = resolveConfig({ scope: 'cli', env: {}, file: file(yaml) });
    expect(cli.config.configNodes).toEqual([
      { address: '10.0.0.5:48000', httpAddr: ':8080' },
      { address: '10.0.0.6:48000', httpAddr: '10.0.0.6:8080' },
    ]);
    expect(cli.warnings).toEqual([]);
    // goverse-node reads its own entry only; the list is goverse-top's.
    expect(resolve({ file: file(yaml), env: { GOVERSE_NODE_ID: 'n0' } }).config.configNodes).toEqual([]);
    const bad = (text: string): ConfigError => {
      try {
        resolveConfig({ scope: 'cli', env: {}, file: file(text) });
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error('expected a ConfigError');
    };
    expect(bad('nodes:\n  - {id: a, advertise_addr: "x:1", http_addr: 8080}\n').message).toBe(
      'goverse.yaml:nodes[0].http_addr: invalid value 8080: expected a host:port string (line 1)',
    );
    expect(bad('nodes:\n  - {id: a, advertise_addr: "no port", http_addr: ":1"}\n').source).toBe('goverse.yaml:nodes[0].advertise_addr');
  });

  it('never echoes secrets', () => {
    const err = configError({ env: { GOVERSE_ETCD_USER: ':hunter2' } });
    expect(err.source).toBe('env GOVERSE_ETCD_USER');
    expect(err.message).not.toContain('hunter2');
    expect(err.message).toContain('expected user or user:password');
  });

  it('refuses flag wiring that cannot be right (bugs in a binary, not user input)', () => {
    expect(() => resolve({ flags: { shards: '1' } as never })).toThrow(InvalidArgumentError);
    expect(() => resolve({ flags: { toString: '1' } as never })).toThrow(/unknown setting/);
    expect(() => resolve({ flags: { etcdPassword: 'x' } })).toThrow(/etcdPassword has no flag/);
    expect(() => resolve({ flags: { leaseTtl: '4s' } })).toThrow(/leaseTtl has no flag/);
    expect(() => resolve({ scope: 'cli', flags: { listen: ':1' } })).toThrow(/not used by the cli binary/);
  });
});

describe('resolveConfig: etcd credentials', () => {
  it('splits user:password, the way etcdctl --user does', () => {
    expect(resolve({ flags: { etcdUser: 'root:s3:cret' } }).config).toMatchObject({ etcdUser: 'root', etcdPassword: 's3:cret' });
    const { config, sources } = resolve({ flags: { etcdUser: 'root:fromflag' }, env: { GOVERSE_ETCD_PASSWORD: 'fromenv' } });
    expect(config.etcdPassword).toBe('fromflag');
    expect(sources.etcdPassword).toBe('flag');
  });

  it('prefers the dedicated password variable over a password embedded in a user variable', () => {
    const { config } = resolve({ env: { GOVERSE_ETCD_USER: 'root:embedded', GOVERSE_ETCD_PASSWORD: 'dedicated' } });
    expect(config).toMatchObject({ etcdUser: 'root', etcdPassword: 'dedicated' });
    expect(resolve({ env: { GOVERSE_ETCD_USER: 'root', GOVERSE_ETCD_PASSWORD: 'pw' } }).config).toMatchObject({ etcdUser: 'root', etcdPassword: 'pw' });
  });

  it('warns when the password comes in a flag, which every user can read in the process list', () => {
    const fromFlag = resolve({ flags: { etcdUser: 'root:hunter2' } });
    expect(fromFlag.warnings).toEqual([expect.stringMatching(/--user carries the etcd password: .*process list.*GOVERSE_ETCD_PASSWORD, --password-file/)]);
    expect(fromFlag.warnings.join()).not.toContain('hunter2');
    for (const quiet of [
      { flags: { etcdUser: 'root' }, env: { GOVERSE_ETCD_PASSWORD: 'pw' } },
      { env: { GOVERSE_ETCD_USER: 'root:pw' } },
      { flags: { etcdUser: 'root', etcdPasswordFile: '/run/secrets/etcd' } },
    ]) {
      expect(resolve(quiet).warnings, JSON.stringify(quiet)).toEqual([]);
    }
  });

  it('takes a password file, but not together with a password given another way', () => {
    expect(resolve({ flags: { etcdUser: 'root', etcdPasswordFile: '/run/secrets/etcd' } }).config).toMatchObject({
      etcdUser: 'root',
      etcdPassword: '',
      etcdPasswordFile: '/run/secrets/etcd',
    });
    const both = configError({ flags: { etcdPasswordFile: '/run/secrets/etcd' }, env: { GOVERSE_ETCD_PASSWORD: 'pw' } });
    expect(both.source).toBe('flag --password-file');
    expect(both.message).toContain('also given by env GOVERSE_ETCD_PASSWORD: give it one way only');
    expect(both.message).not.toContain('pw:');
    const inUser = configError({ env: { GOVERSE_ETCD_PASSWORD_FILE: '/p' }, flags: { etcdUser: 'root:pw' } });
    expect(inUser.message).toContain('also given by flag --user');
  });

  it('requires certificate and key together, and a CA with them', () => {
    const keyless = configError({ flags: { etcdCertFile: 'c.pem', etcdCaFile: 'ca.pem' } });
    expect(keyless.source).toBe('flag --cert');
    expect(keyless.message).toContain('--key, GOVERSE_ETCD_KEY, cluster.etcd.tls.key_file');
    const certless = configError({ env: { GOVERSE_ETCD_KEY: 'k.pem' } });
    expect(certless.source).toBe('env GOVERSE_ETCD_KEY');
    const caless = configError({ file: file('cluster:\n  etcd:\n    tls: {cert_file: c.pem, key_file: k.pem}\n') });
    expect(caless.source).toBe('goverse.yaml:cluster.etcd.tls.cert_file');
    expect(caless.message).toContain('needs the CA file');
    expect(resolve({ env: { GOVERSE_ETCD_CACERT: 'ca.pem', GOVERSE_ETCD_CERT: 'c.pem', GOVERSE_ETCD_KEY: 'k.pem' } }).config).toMatchObject({
      etcdCaFile: 'ca.pem',
      etcdCertFile: 'c.pem',
      etcdKeyFile: 'k.pem',
    });
  });
});

describe('resolveConfig: HTTP exposure', () => {
  it('refuses a loopback listen address with an advertised address other machines would dial', () => {
    for (const [listen, advertise] of [
      ['127.0.0.1:48000', 'node1.internal:48000'],
      ['localhost:48000', '10.0.0.5:48000'],
      ['[::1]:48000', '[fd00::5]:48000'],
    ] as const) {
      const err = configError({ flags: { listen, advertise } });
      expect(err.source, listen).toBe('flag --listen');
      expect(err.message).toContain(`listen address ${listen} accepts loopback connections only, but the node advertises ${advertise} (flag --advertise)`);
      expect(err.message).toContain('listen on :48000 (all interfaces)');
    }
  });

  it('accepts every listen address that the advertised address can reach', () => {
    for (const [listen, advertise] of [
      ['127.0.0.1:48000', '127.0.0.1:48000'],
      ['127.0.0.1:48000', 'localhost:48000'],
      ['[::1]:48000', '[0:0:0:0:0:0:0:1]:48000'],
      [':48000', 'node1.internal:48000'],
      ['10.0.0.5:48000', 'node1.internal:48000'],
    ] as const) {
      expect(resolve({ flags: { listen, advertise } }).config.advertise, listen).toBe(advertise);
    }
    // goverse-top has no listen address of its own.
    expect(resolve({ scope: 'cli' }).config.listen).toBe(':48000');
  });

  it('refuses an admin token shorter than 16 printable characters, without echoing it', () => {
    for (const token of ['short-token', '0123456789abcde', '0123456789abcdef\u0007', 'with a space 0123456789']) {
      const err = configError({ env: { GOVERSE_ADMIN_TOKEN: token } });
      expect(err.source).toBe('env GOVERSE_ADMIN_TOKEN');
      expect(err.message).toContain('at least 16 printable ASCII characters');
      expect(err.message).not.toContain(token);
    }
    expect(resolve({ env: { GOVERSE_ADMIN_TOKEN: '0123456789abcdef' } }).config.adminToken).toBe('0123456789abcdef');
  });

  it('reads the connection cap and the body buffer from every source, with their bounds', () => {
    expect(resolve({}).config).toMatchObject({ maxConnections: 1000, maxBodyBuffer: 64 * 1024 * 1024 });
    const { config } = resolve({
      file: file('nodes:\n  - id: n1\n    max_connections: 50\n    max_body_buffer: 8388608\n'),
      env: { GOVERSE_NODE_ID: 'n1', GOVERSE_MAX_CONNECTIONS: '70' },
    });
    expect(config).toMatchObject({ maxConnections: 70, maxBodyBuffer: 8 * 1024 * 1024 });
    expect(resolve({ flags: { maxConnections: '5' } }).config.maxConnections).toBe(5);
    expect(configError({ env: { GOVERSE_MAX_CONNECTIONS: '0' } }).message).toContain('expected an integer >= 1');
    expect(configError({ flags: { maxBodyBuffer: '1048576' } }).message).toContain('expected an integer >= 2097152');
  });

  it('reads the group commit bounds from every source: by default no wait, and bounded', () => {
    expect(resolve({}).config).toMatchObject({ dbGroupMaxSize: 64, dbGroupMaxWait: 0 });
    const { config } = resolve({
      file: file('nodes:\n  - id: n1\n    db_group_max_size: 32\n    db_group_max_wait: 2ms\n'),
      env: { GOVERSE_NODE_ID: 'n1', GOVERSE_DB_GROUP_MAX_WAIT: '500us' },
    });
    expect(config).toMatchObject({ dbGroupMaxSize: 32, dbGroupMaxWait: 0.5 });
    expect(resolve({ flags: { dbGroupMaxSize: '1' } }).config.dbGroupMaxSize).toBe(1);
    expect(configError({ env: { GOVERSE_DB_GROUP_MAX_SIZE: '0' } }).message).toContain('expected an integer from 1 to 10000');
    expect(configError({ flags: { dbGroupMaxWait: '2s' } }).message).toContain('at most 1s');
  });
});

describe('resolveConfig: shard write retry', () => {
  it('reads deadline, attempt timeout and backoff from every source, for both binaries', () => {
    const defaults = { deadlineMs: 10_000, attemptTimeoutMs: 5000, backoffInitialMs: 50, backoffMaxMs: 1000 };
    expect(shardWriteRetryFromConfig(resolve({}).config)).toEqual(defaults);
    const { config } = resolve({
      file: file('cluster:\n  shard_write_deadline: 30s\n  shard_write_attempt_timeout: 8s\n  shard_write_backoff: 100ms\n'),
      env: { GOVERSE_SHARD_WRITE_BACKOFF_MAX: '4s' },
      flags: { shardWriteDeadline: '1m' },
    });
    expect(shardWriteRetryFromConfig(config)).toEqual({ deadlineMs: 60_000, attemptTimeoutMs: 8000, backoffInitialMs: 100, backoffMaxMs: 4000 });
    const cli = resolveConfig({ scope: 'cli', env: { GOVERSE_SHARD_WRITE_ATTEMPT_TIMEOUT: '2s' }, flags: { shardWriteBackoff: '10ms' } }).config;
    expect(shardWriteRetryFromConfig(cli)).toEqual({ ...defaults, attemptTimeoutMs: 2000, backoffInitialMs: 10 });
    // The member's writer gets them too.
    expect(memberSettingsFromConfig(config).shardWrite).toEqual(shardWriteRetryFromConfig(config));
  });

  it('refuses zero, junk and values beyond the bounds, naming the source', () => {
    expect(configError({ env: { GOVERSE_SHARD_WRITE_DEADLINE: '0' } })).toMatchObject({ source: 'env GOVERSE_SHARD_WRITE_DEADLINE' });
    expect(configError({ env: { GOVERSE_SHARD_WRITE_DEADLINE: '0' } }).message).toContain('greater than 0');
    expect(configError({ flags: { shardWriteAttemptTimeout: 'soon' } }).message).toMatch(/invalid value "soon": expected .*at most 10m/);
    expect(configError({ env: { GOVERSE_SHARD_WRITE_DEADLINE: '11m' } }).message).toContain('at most 10m');
    expect(configError({ file: file('cluster:\n  shard_write_backoff_max: 2m\n') }).message).toContain('at most 1m');
    // A bare YAML number would be nanoseconds in Go: refused.
    expect(configError({ file: file('cluster:\n  shard_write_backoff: 50\n') }).source).toBe('goverse.yaml:cluster.shard_write_backoff');
  });

  it('refuses an attempt set longer than the deadline and a first backoff set above the longest', () => {
    const attempt = configError({ env: { GOVERSE_SHARD_WRITE_ATTEMPT_TIMEOUT: '20s' } });
    expect(attempt.source).toBe('env GOVERSE_SHARD_WRITE_ATTEMPT_TIMEOUT');
    expect(attempt.message).toContain('20s (--shard-write-attempt-timeout, GOVERSE_SHARD_WRITE_ATTEMPT_TIMEOUT, cluster.shard_write_attempt_timeout) is longer than the write deadline, 10s');
    const backoff = configError({ flags: { shardWriteBackoff: '2s', shardWriteBackoffMax: '1500ms' } });
    expect(backoff.source).toBe('flag --shard-write-backoff');
    expect(backoff.message).toContain('is longer than the longest backoff');
    // Lowering only the bound is fine: the default attempt and backoff are cut to it.
    expect(resolve({ env: { GOVERSE_SHARD_WRITE_DEADLINE: '2s', GOVERSE_SHARD_WRITE_BACKOFF_MAX: '20ms' } }).config).toMatchObject({
      shardWriteDeadline: 2000,
      shardWriteBackoffMax: 20,
    });
  });
});

describe('the settings table', () => {
  it('gives every setting a GOVERSE_ variable (NO_COLOR aside) except YAML-only structures, and unique names', () => {
    const envs = SETTING_NAMES.flatMap((n) => SETTINGS[n].env ?? []);
    expect(new Set(envs).size).toBe(envs.length);
    for (const name of SETTING_NAMES) {
      const spec = SETTINGS[name];
      if (name === 'autoLoadObjects' || name === 'configNodes') expect(spec.env).toBeUndefined();
      else expect(spec.env, name).toMatch(name === 'noColor' ? /^NO_COLOR$/ : /^GOVERSE_[A-Z_]+$/);
    }
    const flags = SETTING_NAMES.flatMap((n) => SETTINGS[n].flag ?? []);
    expect(new Set(flags).size).toBe(flags.length);
    const keys = SETTING_NAMES.flatMap((n) => SETTINGS[n].yaml ?? []);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('keeps the environment names that other code and docs rely on', () => {
    expect(Object.fromEntries(SETTING_NAMES.map((n) => [n, SETTINGS[n].env]))).toMatchObject({
      numShards: 'GOVERSE_NUM_SHARDS',
      rebalanceBatchSize: 'GOVERSE_REBALANCE_BATCH_SIZE',
      imbalanceThreshold: 'GOVERSE_IMBALANCE_THRESHOLD',
      stabilityDuration: 'GOVERSE_STABILITY_DURATION',
      shardCheckInterval: 'GOVERSE_SHARD_CHECK_INTERVAL',
      leaseTtl: 'GOVERSE_LEASE_TTL',
      minQuorum: 'GOVERSE_MIN_QUORUM',
      etcdEndpoints: 'GOVERSE_ETCD_ENDPOINTS',
      etcdPrefix: 'GOVERSE_ETCD_PREFIX',
      stuckTimeout: 'GOVERSE_STUCK_TIMEOUT',
      shutdownTimeout: 'GOVERSE_SHUTDOWN_TIMEOUT',
      rebalanceStrategy: 'GOVERSE_REBALANCE_STRATEGY',
      etcdPassword: 'GOVERSE_ETCD_PASSWORD',
      adminToken: 'GOVERSE_ADMIN_TOKEN',
      weight: 'GOVERSE_NODE_WEIGHT',
    });
  });

  it('has defaults that pass their own validation', () => {
    const { config } = resolve({});
    for (const name of SETTING_NAMES) {
      if (name === 'etcdUser' || name === 'etcdPassword' || name === 'adminToken') continue;
      const spec = SETTINGS[name];
      const shown = spec.type.format(config[name] as never);
      if (['', 'none'].includes(shown)) continue;
      expect(spec.type.parse(spec.type.kind === 'bool' ? config[name] : shown), name).toMatchObject({ ok: true });
    }
  });
});
