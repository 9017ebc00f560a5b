/**
 * The chaos run's processes: a private etcd (1 or 3 members), in the PostgreSQL mode a private PostgreSQL server,
 * and goverse-node processes started through the test harness (so nothing outlives the run), with what the checker
 * needs to know about them: every incarnation of every node, when it started and when the runner saw it exit, and
 * its own lifecycle event log.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EtcdCluster, startEtcdCluster } from '../harness/etcd.js';
import { NodeCluster, type TestNode } from '../harness/nodes.js';
import { type PostgresServer, startPostgres } from '../harness/postgres.js';
import type { Incarnation, LifecycleEvent } from './history.js';

/**
 * running: serving. frozen: SIGSTOPped. stopping: SIGTERM sent, handing over. down: killed or stopped, to be started
 * again. removed: stopped for good (scale down).
 */
export type NodeState = 'running' | 'frozen' | 'stopping' | 'down' | 'removed';

interface Run {
  readonly name: string;
  readonly eventLog: string;
  readonly startedAt: number;
  endedAt: number | null;
}

export class ChaosNode {
  state: NodeState = 'down';
  readonly runs: Run[] = [];

  constructor(
    readonly test: TestNode,
    private readonly dir: string,
  ) {}

  get name(): string {
    return `n${this.test.index}`;
  }

  get address(): string {
    return this.test.address;
  }

  /** Starts a new incarnation with its own event log and waits until it is registered in etcd. */
  async start(): Promise<void> {
    const name = `${this.name}#${this.runs.length + 1}`;
    const run: Run = { name, eventLog: join(this.dir, `${this.name}.${this.runs.length + 1}.events.jsonl`), startedAt: Date.now(), endedAt: null };
    this.runs.push(run);
    try {
      await this.test.start({ GOVERSE_EVENT_LOG: run.eventLog });
    } catch (err) {
      await this.exited(this.test.kill());
      throw err;
    }
    this.state = 'running';
  }

  /** kill -9; resolves once the process is gone. */
  async kill(): Promise<void> {
    await this.exited(this.test.kill());
    this.state = 'down';
  }

  /** SIGTERM (graceful handover) and wait for the exit. */
  async stop(then: 'down' | 'removed'): Promise<void> {
    this.state = 'stopping';
    await this.exited(this.test.stop());
    this.state = then;
  }

  freeze(): void {
    this.state = 'frozen';
    this.test.freeze();
  }

  thaw(): void {
    this.test.thaw();
    this.state = 'running';
  }

  /** Every incarnation with its events (an unfinished last line of a killed process is skipped). */
  incarnations(): Incarnation[] {
    return this.runs.map((run) => ({
      name: run.name,
      address: this.address,
      startedAt: run.startedAt,
      endedAt: run.endedAt,
      events: readEvents(run.eventLog),
    }));
  }

  private async exited(exit: Promise<unknown>): Promise<void> {
    await exit;
    const run = this.runs.at(-1);
    if (run !== undefined && run.endedAt === null) run.endedAt = Date.now();
  }
}

/** Where the nodes keep their objects: one SQLite file shared on this machine, or one private PostgreSQL server. */
export type ChaosStore = 'sqlite' | 'postgres';

export interface ChaosClusterOptions {
  readonly store: ChaosStore;
  readonly etcdMembers: number;
  readonly nodes: number;
  readonly numShards: number;
  readonly env: Readonly<Record<string, string>>;
}

export class ChaosCluster {
  readonly nodes: ChaosNode[] = [];

  private constructor(
    readonly etcd: EtcdCluster,
    /** The object database of the PostgreSQL mode; null on SQLite. */
    readonly database: PostgresServer | null,
    readonly harness: NodeCluster,
    private readonly env: Readonly<Record<string, string>>,
  ) {}

  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const [etcd, database] = await Promise.all([
      startEtcdCluster(options.etcdMembers, 'chaos-etcd'),
      options.store === 'postgres' ? startPostgres({ label: 'chaos-postgres' }) : null,
    ]);
    const env = { ...options.env, ...database?.nodeEnv() };
    let harness: NodeCluster;
    try {
      harness = await NodeCluster.start({ etcd, nodes: 0, numShards: options.numShards, env, label: 'chaos' });
    } catch (err) {
      await Promise.all([etcd.close(), database?.close()]);
      throw err;
    }
    const cluster = new ChaosCluster(etcd, database, harness, env);
    try {
      await Promise.all(Array.from({ length: options.nodes }, () => cluster.addNode()));
    } catch (err) {
      await cluster.close();
      throw err;
    }
    // The first nodes wrote the shard-count record with the explicit count; later ones (restarts, scale-up) follow the
    // record, which a split or merge fault changes.
    harness.followShardCount();
    return cluster;
  }

  get prefix(): string {
    return this.harness.prefix;
  }

  get numShards(): number {
    return this.harness.numShards;
  }

  /** A new node on new ports (scale up), started. */
  async addNode(): Promise<ChaosNode> {
    const [test] = await this.harness.addNodes(1, this.env, false);
    const node = new ChaosNode(test!, this.harness.dir);
    this.nodes.push(node);
    await node.start();
    return node;
  }

  inState(...states: NodeState[]): ChaosNode[] {
    return this.nodes.filter((n) => states.includes(n.state));
  }

  incarnations(): Incarnation[] {
    return this.nodes.flatMap((n) => n.incarnations());
  }

  async close(): Promise<void> {
    for (const n of this.inState('frozen')) n.thaw();
    await this.harness.close();
    await Promise.all([this.etcd.close(), this.database?.close()]);
  }
}

function readEvents(path: string): LifecycleEvent[] {
  if (!existsSync(path)) return [];
  const out: LifecycleEvent[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as LifecycleEvent);
    } catch {
      // Only a process killed mid-write leaves a partial line, and only as its last one.
    }
  }
  return out;
}
