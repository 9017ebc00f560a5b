import { describe, expect, it } from 'vitest';
import { resolveConfig, type ResolveOptions } from '../../../../src/core/config/resolve.js';
import { ConfigError } from '../../../../src/core/errors.js';

const resolve = (text: string, options: Partial<ResolveOptions> = {}) =>
  resolveConfig({ scope: 'node', env: {}, file: { path: 'cfg/multi.yaml', text }, ...options });

function configError(text: string, options: Partial<ResolveOptions> = {}): ConfigError {
  try {
    resolve(text, options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** Upstream's multi-node example, with the sections we ignore. */
const UPSTREAM = `version: 1
cluster:
  shards: 8192
  provider: etcd
  etcd:
    endpoints:
      - "etcd-0:2379"
      - "etcd-1:2379"
      - "etcd-2:2379"
    prefix: "/goverse/production"
  imbalance_threshold: 0.25
  cluster_state_stability_duration: 3s
  # stuck_shard_reallocation_timeout: 1m
  auto_load_objects:
    - type: ChatRoomMgr
      id: ChatRoomMgr0
    - type: ShardMonitor
      id: monitor
      per_shard: true
postgres:
  host: localhost
  port: 5432
  password: secret
inspector:
  grpc_addr: ":8081"
  http_addr: ":8080"
  advertise_addr: "inspector:8081"
nodes:
  - id: node-1
    grpc_addr: "0.0.0.0:50051"
    advertise_addr: "node-1.goverse:50051"
    http_addr: ":8080"
  - id: node-2
    grpc_addr: "0.0.0.0:50052"
    advertise_addr: "node-2.goverse:50052"
    http_addr: ":8081"
    weight: 2
gates:
  - id: gate-1
    grpc_addr: ":60051"
object_access_rules:
  - pattern: "^ChatRoom-.*$"
    access: ALLOW
`;

describe('YAML config file', () => {
  it('reads an upstream file, selecting the nodes entry by node ID, silently ignoring upstream sections', () => {
    const { config, sources, warnings } = resolve(UPSTREAM, { flags: { nodeId: 'node-2' } });
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      numShards: 8192,
      etcdEndpoints: ['etcd-0:2379', 'etcd-1:2379', 'etcd-2:2379'],
      etcdPrefix: '/goverse/production',
      imbalanceThreshold: 0.25,
      stabilityDuration: 3000,
      nodeId: 'node-2',
      listen: '0.0.0.0:50052',
      advertise: 'node-2.goverse:50052',
      httpListen: ':8081',
      weight: 2,
      autoLoadObjects: [
        { type: 'ChatRoomMgr', id: 'ChatRoomMgr0', placement: 'single' },
        { type: 'ShardMonitor', id: 'monitor', placement: 'per-shard' },
      ],
    });
    expect(sources).toMatchObject({ nodeId: 'flag', listen: 'file', weight: 'file', stuckTimeout: 'default' });
  });

  it('selects by GOVERSE_NODE_ID too, and environment and flags still override the entry', () => {
    const { config, sources } = resolve(UPSTREAM, { env: { GOVERSE_NODE_ID: 'node-1', GOVERSE_HTTP_LISTEN: ':9999' }, flags: { listen: ':7000' } });
    expect(config).toMatchObject({ nodeId: 'node-1', advertise: 'node-1.goverse:50051', httpListen: ':9999', listen: ':7000', weight: 1 });
    expect(sources).toMatchObject({ nodeId: 'env', advertise: 'file', httpListen: 'env', listen: 'flag' });
  });

  it('uses the only nodes entry when no node ID is given', () => {
    const { config, sources } = resolve('nodes:\n  - {id: solo, grpc_addr: ":5000"}\n');
    expect(config).toMatchObject({ nodeId: 'solo', listen: ':5000', advertise: 'localhost:5000' });
    expect(sources.nodeId).toBe('file');
  });

  it('refuses an unknown node ID, an ambiguous choice and duplicate or missing ids', () => {
    const unknown = configError(UPSTREAM, { env: { GOVERSE_NODE_ID: 'node-9' } });
    expect(unknown.source).toBe('cfg/multi.yaml:nodes');
    expect(unknown.message).toContain('no entry has id "node-9" (given by env GOVERSE_NODE_ID); ids: "node-1", "node-2"');
    const ambiguous = configError(UPSTREAM);
    expect(ambiguous.source).toBe('cfg/multi.yaml:nodes');
    expect(ambiguous.message).toContain('choose one with --node-id or GOVERSE_NODE_ID');
    const duplicate = configError('nodes:\n  - {id: a}\n  - {id: a}\n');
    expect(duplicate.message).toBe('cfg/multi.yaml:nodes[1].id: duplicate node id "a" (line 3)');
    const missing = configError('nodes:\n  - {grpc_addr: ":1"}\n');
    expect(missing.source).toBe('cfg/multi.yaml:nodes[0].id');
    expect(configError(UPSTREAM, { flags: { nodeId: 'node 1' } }).source).toBe('flag --node-id');
    const empty = configError('nodes: []\n', { flags: { nodeId: 'x' } });
    expect(empty.message).toContain('no entry has id "x" (given by flag --node-id)');
  });

  it('names the selected entry by id in errors about its values', () => {
    const err = configError(UPSTREAM.replace('weight: 2', 'weight: heavy'), { flags: { nodeId: 'node-2' } });
    expect(err.source).toBe('cfg/multi.yaml:nodes[node-2].weight');
    expect(err.message).toBe('cfg/multi.yaml:nodes[node-2].weight: invalid value "heavy": expected a number > 0 (line 37)');
  });

  it('goverse-top reads only the cluster section', () => {
    const { config, warnings } = resolve(UPSTREAM, { scope: 'cli' });
    expect(config.numShards).toBe(8192);
    expect(config.listen).toBe(':48000');
    expect(warnings).toEqual([]);
  });

  it('warns about unknown keys with their line, and goes on', () => {
    const { config, warnings } = resolve('cluster:\n  shard: 64\n  etcd:\n    endpoint: x\n    prefix: /p\nextra: 1\nnodes:\n  - {id: n, grpc: ":1"}\n');
    expect(config.etcdPrefix).toBe('/p');
    expect(warnings).toEqual([
      'cfg/multi.yaml:cluster.shard: unknown key, ignored (line 2)',
      'cfg/multi.yaml:cluster.etcd.endpoint: unknown key, ignored (line 4)',
      'cfg/multi.yaml:extra: unknown key, ignored (line 6)',
      'cfg/multi.yaml:nodes[0].grpc: unknown key, ignored (line 8)',
    ]);
  });

  it('refuses a malformed file, naming the file and line', () => {
    const flow = configError('cluster:\n  shards: 64\n  etcd: {endpoints: [a\n');
    expect(flow.source).toMatch(/^cfg\/multi\.yaml:\d+$/);
    expect(flow.message).toMatch(/^cfg\/multi\.yaml:\d+: invalid YAML: /);
    expect(flow.message).not.toContain('\n');
    const duplicate = configError('cluster:\n  shards: 1\n  shards: 2\n');
    expect(duplicate.message).toBe('cfg/multi.yaml:3: invalid YAML: Map keys must be unique');
    const tabs = configError('cluster:\n\tshards: 1\n');
    expect(tabs.source).toBe('cfg/multi.yaml:2');
    const twoDocs = configError('version: 1\n---\nversion: 1\n');
    expect(twoDocs.message).toContain('invalid YAML');
  });

  it('refuses a file of the wrong shape, version or provider', () => {
    expect(configError('- a\n- b\n').message).toBe('cfg/multi.yaml: expected a mapping of sections (cluster, nodes, ...) at the top level');
    expect(configError('cluster: 5\n').message).toBe('cfg/multi.yaml:cluster: expected a mapping (line 1)');
    expect(configError('nodes: {id: a}\n').message).toBe('cfg/multi.yaml:nodes: expected a list (line 1)');
    expect(configError('nodes:\n  - a\n').source).toBe('cfg/multi.yaml:nodes[0]');
    expect(configError('version: 2\n').message).toBe('cfg/multi.yaml:version: unsupported version 2: expected 1 (line 1)');
    expect(configError('cluster:\n  provider: consul\n').source).toBe('cfg/multi.yaml:cluster.provider');
  });

  it('accepts an empty file, nulls as unset, and aliases', () => {
    expect(resolve('').config.numShards).toBe(8192);
    expect(resolve('# nothing\n').warnings).toEqual([]);
    expect(resolve('cluster:\n  shards:\n').config.numShards).toBe(8192);
    const aliased = resolve('x-timeout: &t 45s\ncluster:\n  default_call_timeout: *t\n  default_create_timeout: *t\n');
    expect(aliased.config).toMatchObject({ defaultCallTimeout: 45_000, defaultCreateTimeout: 45_000 });
    expect(aliased.warnings).toEqual(['cfg/multi.yaml:x-timeout: unknown key, ignored (line 1)']);
    const recursive = configError('cluster:\n  shards: &s [1, *s]\n');
    expect(recursive.message).toMatch(/^cfg\/multi\.yaml:cluster\.shards: invalid value .*: expected an integer from 1 to 1048576 \(line 2\)$/);
  });

  it('reads every cluster key of the file', () => {
    const { config } = resolve(`cluster:
  shards: 512
  etcd:
    endpoints: ["http://e1:2379"]
    prefix: /g
    timeout: 2s
    tls: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem}
  rebalance_batch_size: 3
  imbalance_threshold: 1
  cluster_state_stability_duration: 0
  shard_check_interval: 250ms
  lease_ttl: 4s
  min_quorum: 3
  stuck_shard_reallocation_timeout: 2m
  shutdown_timeout: 0s
  fast_shutdown: true
  rebalance_strategy: load
  load_metric: objects
  load_hysteresis: 0.05
  rebalance_move_budget: 9
  lock_timeout: 1s
  lock_max_hold: 2s
  lock_warn_threshold: 100ms
  default_call_timeout: 1s
  default_create_timeout: 2s
  default_delete_timeout: 3s
`);
    expect(config).toMatchObject({
      numShards: 512,
      etcdEndpoints: ['http://e1:2379'],
      etcdPrefix: '/g',
      etcdTimeout: 2000,
      etcdCaFile: 'ca.pem',
      etcdCertFile: 'c.pem',
      etcdKeyFile: 'k.pem',
      rebalanceBatchSize: 3,
      imbalanceThreshold: 1,
      stabilityDuration: 0,
      shardCheckInterval: 250,
      leaseTtl: 4000,
      minQuorum: 3,
      stuckTimeout: 120_000,
      shutdownTimeout: 0,
      fastShutdown: true,
      rebalanceStrategy: 'load',
      loadMetric: 'objects',
      loadHysteresis: 0.05,
      rebalanceMoveBudget: 9,
      lockTimeout: 1000,
      lockMaxHold: 2000,
      lockWarnThreshold: 100,
      defaultCallTimeout: 1000,
      defaultCreateTimeout: 2000,
      defaultDeleteTimeout: 3000,
    });
  });
});
