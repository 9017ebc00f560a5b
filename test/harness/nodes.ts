/**
 * Real goverse-node processes for integration tests: started from the build output (`npm run build` first; the
 * README's test command does it), on free loopback ports, with their database, logs and lifecycle event log in a
 * managed temp dir. Each node can be stopped (SIGTERM), killed (-9), frozen (SIGSTOP/SIGCONT) and restarted on the
 * same address.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEtcdClient, type EtcdClient } from '../../src/edge/etcd/client.js';
import { Keyspace } from '../../src/core/keyspace/keys.js';
import { readSnapshot } from '../../src/edge/etcd/readSnapshot.js';
import type { ClusterSnapshot } from '../../src/core/snapshot/snapshot.js';
import { type EtcdCluster, freePorts, startEtcd } from './etcd.js';
import { owners, waitOwned } from './ownership.js';
import { uniquePrefix } from './prefix.js';
import { type ExitInfo, type ManagedProcess, managedTempDir, removeManagedDir, spawnManaged } from './processes.js';
import { waitRegistered } from './registration.js';

export const NODE_BIN = fileURLToPath(new URL('../../bin/goverse-node.js', import.meta.url));
const BUILT_MAIN = fileURLToPath(new URL('../../dist/node/main.js', import.meta.url));

export interface NodeClusterOptions {
  readonly nodes?: number;
  readonly numShards?: number;
  /** Extra environment for every node (GOVERSE_* settings). */
  readonly env?: Readonly<Record<string, string>>;
  /** Reuse an etcd (the caller closes it); by default a private one is started and closed with the cluster. */
  readonly etcd?: EtcdCluster;
  readonly label?: string;
  /** Key prefix (default: a unique one), e.g. to join a cluster another harness started. */
  readonly prefix?: string;
}

/** Test defaults: short lease and stability so failover tests take seconds, not minutes. */
export const FAST_ENV: Readonly<Record<string, string>> = {
  GOVERSE_LEASE_TTL: '3s',
  GOVERSE_STABILITY_DURATION: '300ms',
  GOVERSE_SHARD_CHECK_INTERVAL: '500ms',
  GOVERSE_STUCK_TIMEOUT: '5s',
  GOVERSE_SHUTDOWN_TIMEOUT: '10s',
  GOVERSE_LOG_LEVEL: 'debug',
};

export class TestNode {
  proc: ManagedProcess | null = null;

  constructor(
    readonly cluster: NodeCluster,
    readonly index: number,
    readonly apiPort: number,
    readonly opsPort: number,
    private readonly extraEnv: Readonly<Record<string, string>>,
    /** The loopback address the object API listens on and advertises (another one plays another machine). */
    readonly host = '127.0.0.1',
  ) {}

  /** The advertise address: the node's identity in etcd. */
  get address(): string {
    return `${this.host}:${this.apiPort}`;
  }
  get apiUrl(): string {
    return `http://${this.address}`;
  }
  get opsUrl(): string {
    return `http://127.0.0.1:${this.opsPort}`;
  }
  get logFile(): string {
    return join(this.cluster.dir, `node${this.index}.log`);
  }
  get eventLog(): string {
    return join(this.cluster.dir, `node${this.index}.events.jsonl`);
  }
  get running(): boolean {
    return this.proc?.running ?? false;
  }
  get pid(): number {
    if (this.proc === null || !this.proc.running) throw new Error(`node ${this.index} is not running`);
    return this.proc.pid;
  }

  /** Starts the process and waits until its node key is in etcd (not for /ready: tests decide what to await). */
  async start(env: Readonly<Record<string, string>> = {}): Promise<void> {
    if (this.running) throw new Error(`node ${this.index} is already running`);
    this.proc = spawnManaged(
      `goverse-node ${this.index}`,
      process.execPath,
      [NODE_BIN, '--listen', this.address, '--http-listen', `127.0.0.1:${this.opsPort}`],
      {
        env: {
          ...process.env,
          GOVERSE_ETCD_ENDPOINTS: this.cluster.etcd.endpoints.join(','),
          GOVERSE_ETCD_PREFIX: this.cluster.prefix,
          // Empty counts as unset: the node follows the cluster's shard-count record (see followShardCount).
          GOVERSE_NUM_SHARDS: this.cluster.explicitShards ? String(this.cluster.numShards) : '',
          GOVERSE_DB_PATH: this.cluster.dbPath,
          GOVERSE_EVENT_LOG: this.eventLog,
          ...FAST_ENV,
          ...this.extraEnv,
          ...env,
        },
        logFile: this.logFile,
      },
    );
    await waitRegistered(this.cluster.client, `${this.cluster.prefix}/nodes/${this.address}`, this.proc, `node ${this.index}`);
  }

  /** SIGTERM (a graceful stop with handover) and wait for the exit. */
  stop(graceMs = 20_000): Promise<ExitInfo> {
    return this.proc?.stop('SIGTERM', graceMs) ?? Promise.resolve({ code: 0, signal: null });
  }
  kill(): Promise<ExitInfo> {
    return this.proc?.kill() ?? Promise.resolve({ code: null, signal: 'SIGKILL' });
  }
  freeze(): void {
    process.kill(this.pid, 'SIGSTOP');
  }
  thaw(): void {
    process.kill(this.pid, 'SIGCONT');
  }

  async ready(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${this.opsUrl}/ready`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async metrics(): Promise<string> {
    const res = await fetch(`${this.opsUrl}/metrics`);
    return res.text();
  }

  /** POSTs to the object API; returns the status and the JSON body. */
  async api(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${this.apiUrl}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** The lifecycle events this node recorded (activations and deactivations), parsed. */
  events(): Record<string, unknown>[] {
    if (!existsSync(this.eventLog)) return [];
    return readFileSync(this.eventLog, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }
}

/** A private etcd (or a shared one) with N goverse-node processes under a unique prefix. */
export class NodeCluster {
  readonly nodes: TestNode[] = [];
  readonly keys: Keyspace;
  /** Whether nodes get `GOVERSE_NUM_SHARDS` (an explicit count); see followShardCount. */
  explicitShards = true;

  private constructor(
    readonly etcd: EtcdCluster,
    private readonly ownsEtcd: boolean,
    readonly client: EtcdClient,
    readonly prefix: string,
    readonly numShards: number,
    readonly dir: string,
  ) {
    this.keys = new Keyspace(prefix);
  }

  get dbPath(): string {
    return join(this.dir, 'objects.sqlite');
  }

  static async start(options: NodeClusterOptions = {}): Promise<NodeCluster> {
    if (!existsSync(BUILT_MAIN)) throw new Error('dist/ is missing: run `npm run build` before the integration tests');
    const etcd = options.etcd ?? (await startEtcd(options.label ?? 'nodes'));
    const client = createEtcdClient({ endpoints: etcd.endpoints });
    const dir = managedTempDir(options.label ?? 'nodes');
    const cluster = new NodeCluster(etcd, options.etcd === undefined, client, options.prefix ?? uniquePrefix(options.label ?? 'nodes'), options.numShards ?? 64, dir);
    const count = options.nodes ?? 3;
    await cluster.addNodes(count, options.env ?? {}, false);
    await Promise.all(cluster.nodes.map((n) => n.start()));
    return cluster;
  }

  /** Adds nodes (started unless `start` is false), on `host` (another loopback address plays another machine). */
  async addNodes(count: number, env: Readonly<Record<string, string>> = {}, start = true, host?: string): Promise<TestNode[]> {
    const ports = await freePorts(count * 2);
    const added: TestNode[] = [];
    for (let i = 0; i < count; i++) {
      const node = new TestNode(this, this.nodes.length, ports[2 * i]!, ports[2 * i + 1]!, env, host);
      this.nodes.push(node);
      added.push(node);
    }
    if (start) await Promise.all(added.map((n) => n.start()));
    return added;
  }

  /**
   * From now on nodes start with the default count, which follows the cluster's record (created by the first node
   * with the explicit count): a node restarted after a reshard would otherwise refuse to start (exit 2).
   */
  followShardCount(): void {
    this.explicitShards = false;
  }

  node(i: number): TestNode {
    const n = this.nodes[i];
    if (n === undefined) throw new Error(`no node ${i}`);
    return n;
  }

  snapshot(): Promise<ClusterSnapshot> {
    return readSnapshot(this.client, this.keys, this.numShards);
  }

  /** Waits until every shard has Target == Current == one of `nodes` (default: the running nodes). */
  waitStable(options: { nodes?: readonly TestNode[]; timeoutMs?: number } = {}): Promise<ClusterSnapshot> {
    const expected = new Set((options.nodes ?? this.nodes.filter((n) => n.running)).map((n) => n.address));
    return waitOwned(() => this.snapshot(), expected, options);
  }

  /** Shards owned per node address. */
  static owners(snap: ClusterSnapshot): Map<string, number> {
    return owners(snap);
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    await this.client.close();
    if (this.ownsEtcd) await this.etcd.close();
    removeManagedDir(this.dir);
  }
}
