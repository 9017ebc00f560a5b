import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GoverseClient } from '../../client/index.js';
import { DEFAULT_PREFIX, Keyspace } from '../../core/keyspace/keys.js';
import { UnavailableError } from '../../core/errors.js';
import { createEtcdClient, type EtcdClient } from '../../edge/etcd/client.js';
import { readSnapshot } from '../../edge/etcd/readSnapshot.js';
import { type DemoChild, freePorts, spawnChild } from './children.js';
import { findEtcdBinary, startDemoEtcd } from './etcdServer.js';
import { LoadGenerator } from './loadGenerator.js';
import { startDemoPostgres } from './postgresServer.js';

const NODE_BIN = fileURLToPath(new URL('../../../bin/goverse-node.js', import.meta.url));

/** Short timings so a fresh demo converges in seconds: every shard owned well under 30 s. */
const DEMO_NODE_ENV: Readonly<Record<string, string>> = {
  GOVERSE_LEASE_TTL: '5s',
  GOVERSE_STABILITY_DURATION: '1s',
  GOVERSE_SHARD_CHECK_INTERVAL: '1s',
  GOVERSE_STUCK_TIMEOUT: '30s',
  // Ctrl-C stops everything at once: no point handing shards to nodes that stop too.
  GOVERSE_FAST_SHUTDOWN: 'true',
  GOVERSE_LOG_LEVEL: 'info',
};

const LOAD = { objects: 2000, ratePerSecond: 100, concurrency: 4 };

/** Where the demo's nodes keep their objects: one SQLite file, or a private PostgreSQL server. */
export type DemoStore = 'sqlite' | 'postgres';

export interface DemoOptions {
  readonly nodes: number;
  readonly shards: number;
  readonly store: DemoStore;
  /** Progress, on stderr (not while the console owns the screen). */
  readonly note: (text: string) => void;
  /** Aborts the start-up: everything started so far is stopped and start() rejects. */
  readonly signal?: AbortSignal;
}

/**
 * Everything the demo starts: a private etcd and goverse-node processes in one temp dir, plus a load generator in
 * this process. `stop()` (and, as a last resort, process exit) ends every child and removes the dir.
 */
export class DemoCluster {
  readonly keys = new Keyspace(DEFAULT_PREFIX);
  /**
   * etcd (a start retried on new ports leaves stopped ones before it) and PostgreSQL: stopped after the nodes.
   */
  private readonly etcdChildren: DemoChild[] = [];
  private readonly nodes: DemoChild[] = [];
  private etcd: EtcdClient | null = null;
  private client: GoverseClient | null = null;
  private load: LoadGenerator | null = null;
  private stopped = false;
  /** Removed with `dir`. */
  private readonly extraDirs: string[] = [];
  private readonly onExit = (): void => this.killNow();

  private constructor(
    readonly dir: string,
    readonly numShards: number,
  ) {
    process.once('exit', this.onExit);
  }

  /** The demo etcd's client endpoint (`127.0.0.1:<port>`). */
  endpoint = '';

  static async start(options: DemoOptions): Promise<DemoCluster> {
    const binary = findEtcdBinary(process.env);
    const demo = new DemoCluster(mkdtempSync(join(tmpdir(), 'goverse-demo-')), options.shards);
    try {
      await demo.boot(binary, options);
      return demo;
    } catch (err) {
      await demo.stop();
      throw err;
    }
  }

  private async boot(binary: string, options: DemoOptions): Promise<void> {
    const signal = options.signal ?? new AbortController().signal;
    options.note(`demo: starting etcd (${binary}) in ${this.dir}`);
    const etcd = await startDemoEtcd(binary, this.dir, (child) => this.etcdChildren.push(child));
    signal.throwIfAborted();
    this.endpoint = etcd.endpoint;
    this.etcd = createEtcdClient({ endpoints: [etcd.endpoint] });
    const env: NodeJS.ProcessEnv = {};
    // The operator's own GOVERSE_* settings (another cluster's endpoints, a config file) must not leak in.
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GOVERSE_')) env[k] = v;
    Object.assign(env, DEMO_NODE_ENV, {
      GOVERSE_ETCD_ENDPOINTS: etcd.endpoint,
      GOVERSE_ETCD_PREFIX: this.keys.prefix,
      GOVERSE_NUM_SHARDS: String(this.numShards),
      GOVERSE_DB_PATH: join(this.dir, 'objects.sqlite'),
      // Removed with the demo's dir at exit: its place in the tmp directory is no durability risk worth a warning.
      GOVERSE_DB_DISPOSABLE: 'true',
    });
    if (options.store === 'postgres') Object.assign(env, await this.startPostgres(options.note));
    signal.throwIfAborted();
    const ports = await freePorts(options.nodes * 2);
    const addresses: string[] = [];
    for (let i = 0; i < options.nodes; i++) {
      const address = `127.0.0.1:${ports[2 * i]}`;
      addresses.push(address);
      const args = [NODE_BIN, '--listen', address, '--http-listen', `127.0.0.1:${ports[2 * i + 1]}`];
      const nodeEnv = { ...env, GOVERSE_LOG_FILE: join(this.dir, `node${i + 1}.log`) };
      this.nodes.push(spawnChild(`node ${i + 1}`, process.execPath, args, nodeEnv, join(this.dir, `node${i + 1}.out`)));
    }
    options.note(`demo: starting ${options.nodes} goverse-node processes (${addresses.join(', ')}) with ${this.numShards} shards`);
    await this.waitRegistered(addresses, signal);
    this.client = await GoverseClient.watching({ etcd: this.etcd, prefix: this.keys.prefix, numShards: this.numShards, signal });
    signal.throwIfAborted();
    this.load = new LoadGenerator(this.client, LOAD);
    this.load.start();
    options.note(`demo: load generator calling ${LOAD.objects} Counter objects (Zipf popularity) at ~${LOAD.ratePerSecond} calls/s`);
  }

  /** The private server, in a dir of its own (a root demo runs it as `nobody`, who cannot enter the demo's dir). */
  private async startPostgres(note: (text: string) => void): Promise<NodeJS.ProcessEnv> {
    const dir = mkdtempSync(join(tmpdir(), 'goverse-demo-postgres-'));
    this.extraDirs.push(dir);
    note(`demo: starting PostgreSQL in ${dir}`);
    const server = await startDemoPostgres(dir, (child) => this.etcdChildren.push(child));
    return { GOVERSE_DB_PATH: '', GOVERSE_POSTGRES_URL: server.url, GOVERSE_POSTGRES_PASSWORD: server.password };
  }

  private async waitRegistered(addresses: readonly string[], signal: AbortSignal): Promise<void> {
    const { keys } = this;
    const deadline = Date.now() + 30_000;
    for (;;) {
      signal.throwIfAborted();
      const dead = this.nodes.find((c) => !c.running);
      if (dead !== undefined) throw new UnavailableError(`demo ${dead.name} exited during start-up:\n${dead.output().slice(-1500)}`);
      const { kvs } = await this.etcd!.rangePrefix(`${keys.root}nodes/`);
      if (addresses.every((a) => kvs.some((kv) => kv.key === keys.node(a)))) return;
      if (Date.now() > deadline) throw new UnavailableError('demo nodes did not register within 30s; see the node logs in ' + this.dir);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** How many shards are owned by an alive node, for progress lines. */
  async ownedShards(): Promise<number> {
    const snapshot = await readSnapshot(this.etcd!, this.keys, this.numShards);
    return snapshot.shards.filter((e) => e !== undefined && snapshot.nodes.has(e.current)).length;
  }

  /** Stops the load, the nodes, then etcd, and removes the temp dir. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.load?.stop();
    await this.client?.close().catch(() => undefined);
    await this.etcd?.close().catch(() => undefined);
    await Promise.all(this.nodes.map((c) => c.stop(5000)));
    await Promise.all(this.etcdChildren.map((c) => c.stop(3000)));
    for (const d of [this.dir, ...this.extraDirs]) rmSync(d, { recursive: true, force: true });
    process.off('exit', this.onExit);
  }

  /** Synchronous last resort (process exit): kill every child, remove the dir. */
  killNow(): void {
    for (const c of [...this.nodes, ...this.etcdChildren]) c.killNow();
    for (const d of [this.dir, ...this.extraDirs]) rmSync(d, { recursive: true, force: true });
  }
}
