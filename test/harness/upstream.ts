/**
 * Real upstream Goverse processes for interop tests and benchmarks: upstream's `counter` sample (a full node hosting
 * `Counter` objects) and its `gate`, built from the upstream kit and started on free loopback ports with a generated
 * upstream YAML config, their output captured to log files.
 *
 * The kit is a directory holding `build.sh`, which builds both binaries once into a cache and prints their absolute
 * paths on stdout (counter first, then gate). It is found through `GOVERSE_UPSTREAM_KIT`, else at a default
 * location beside the repository (locateUpstreamKit); without it, interop suites skip themselves and say why.
 *
 * Upstream's YAML (what its loader reads): `version: 1`; `cluster.shards`, `cluster.provider: etcd`,
 * `cluster.etcd.endpoints` (only the first is used) and `cluster.etcd.prefix`; `cluster.cluster_state_stability_duration`
 * and `cluster.stuck_shard_reallocation_timeout` (Go durations); `nodes[]` with `id`, `grpc_addr`, `advertise_addr`
 * (the node's identity in etcd) and `http_addr` (/metrics, /healthz, /ready); `gates[]` with `id`, `grpc_addr`,
 * optional `advertise_addr`, `http_addr` (the REST API) and `ops_addr` (/metrics, /healthz, /ready). A process given
 * `-config` takes only `-node-id`/`-gate-id` beside it. Upstream has no lease key: its node lease TTL is a fixed 15 s
 * (kept alive every 5 s), and its leader checks the shard mapping every 5 s, which no setting changes.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { parsePrometheusText, type MetricFamilies } from '../../src/core/metrics/textFormat.js';
import { sumByLabel } from '../../src/core/metrics/query.js';
import type { ClusterSnapshot } from '../../src/core/snapshot/snapshot.js';
import { createEtcdClient, type EtcdClient } from '../../src/edge/etcd/client.js';
import { Keyspace } from '../../src/core/keyspace/keys.js';
import { readSnapshot } from '../../src/edge/etcd/readSnapshot.js';
import { type EtcdCluster, freePorts, startEtcd } from './etcd.js';
import { waitOwned } from './ownership.js';
import { uniquePrefix } from './prefix.js';
import { type ExitInfo, type ManagedProcess, managedTempDir, removeManagedDir, spawnManaged } from './processes.js';
import { waitRegistered } from './registration.js';
import { UpstreamGateClient } from './upstreamGate.js';
import { waitFor } from './waitFor.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Upstream's fixed node lease TTL: a killed node's key disappears at most this long after its last keep-alive. */
export const UPSTREAM_LEASE_TTL_MS = 15_000;
/** Upstream's leader acts on the shard mapping on this fixed tick. */
export const UPSTREAM_SHARD_CHECK_INTERVAL_MS = 5_000;
/** The first build downloads a Go toolchain and libraries: up to about 5 minutes. */
const BUILD_TIMEOUT_MS = 15 * 60_000;

// ---------------------------------------------------------------------------------------------------- the kit

export type UpstreamKit = { readonly available: true; readonly dir: string } | { readonly available: false; readonly reason: string };

/**
 * Where the kit is: `GOVERSE_UPSTREAM_KIT` (which must then hold build.sh: a wrong path is an error, not a skip),
 * else the default location below, else unavailable with a reason that names where it looked.
 */
export function locateUpstreamKit(env: NodeJS.ProcessEnv = process.env): UpstreamKit {
  const named = env.GOVERSE_UPSTREAM_KIT;
  if (named !== undefined && named !== '') {
    const dir = resolve(named);
    if (!existsSync(join(dir, 'build.sh'))) throw new Error(`GOVERSE_UPSTREAM_KIT=${named}: no build.sh in ${dir}`);
    return { available: true, dir };
  }
  const dir = resolve(REPO_ROOT, '..', 'shared', 'upstream-goverse');
  if (existsSync(join(dir, 'build.sh'))) return { available: true, dir };
  return { available: false, reason: `no upstream kit: GOVERSE_UPSTREAM_KIT is not set and ${dir}/build.sh does not exist` };
}

export interface UpstreamBinaries {
  readonly counter: string;
  readonly gate: string;
}

let built: Promise<UpstreamBinaries> | null = null;

/** Builds the binaries through the kit's build.sh (instant once cached), once per process. */
export function upstreamBinaries(kit: UpstreamKit = locateUpstreamKit()): Promise<UpstreamBinaries> {
  if (!kit.available) return Promise.reject(new Error(kit.reason));
  built ??= new Promise<UpstreamBinaries>((resolvePaths, reject) => {
    execFile('bash', [join(kit.dir, 'build.sh')], { timeout: BUILD_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err !== null) return reject(new Error(`upstream build.sh failed (${err.message.split('\n')[0]}):\n${stderr.slice(-4000)}`));
      const paths = stdout.split('\n').filter((l) => l !== '');
      const [counter, gate] = paths;
      if (paths.length !== 2 || counter === undefined || gate === undefined || !isAbsolute(counter) || !isAbsolute(gate)) {
        return reject(new Error(`upstream build.sh printed ${JSON.stringify(stdout.slice(0, 500))}, expected two absolute binary paths`));
      }
      try {
        for (const bin of [counter, gate]) accessSync(bin, constants.X_OK);
      } catch (cause) {
        return reject(new Error(`upstream binary not executable: ${(cause as Error).message}`));
      }
      resolvePaths({ counter, gate });
    });
  });
  built.catch(() => (built = null));
  return built;
}

// ---------------------------------------------------------------------------------------------------- config

export interface UpstreamNodeSpec {
  readonly id: string;
  readonly grpcAddr: string;
  readonly advertiseAddr: string;
  readonly httpAddr: string;
}

export interface UpstreamGateSpec {
  readonly id: string;
  readonly grpcAddr: string;
  readonly advertiseAddr: string;
  readonly httpAddr: string;
  readonly opsAddr: string;
}

export interface UpstreamConfigSpec {
  readonly numShards: number;
  readonly etcdEndpoints: readonly string[];
  readonly prefix: string;
  /** cluster.cluster_state_stability_duration; upstream's default is 10 s. */
  readonly stabilityMs?: number;
  /** cluster.stuck_shard_reallocation_timeout; upstream's default is 1 min. */
  readonly stuckTimeoutMs?: number;
  readonly nodes: readonly UpstreamNodeSpec[];
  readonly gates: readonly UpstreamGateSpec[];
}

/** Upstream's YAML config for a cluster (pure). Durations as Go writes them (`1500ms`). */
export function upstreamConfigYaml(spec: UpstreamConfigSpec): string {
  const cluster: Record<string, unknown> = {
    shards: spec.numShards,
    provider: 'etcd',
    etcd: { endpoints: [...spec.etcdEndpoints], prefix: spec.prefix },
  };
  if (spec.stabilityMs !== undefined) cluster.cluster_state_stability_duration = `${spec.stabilityMs}ms`;
  if (spec.stuckTimeoutMs !== undefined) cluster.stuck_shard_reallocation_timeout = `${spec.stuckTimeoutMs}ms`;
  return stringify({
    version: 1,
    cluster,
    nodes: spec.nodes.map((n) => ({ id: n.id, grpc_addr: n.grpcAddr, advertise_addr: n.advertiseAddr, http_addr: n.httpAddr })),
    gates: spec.gates.map((g) => ({ id: g.id, grpc_addr: g.grpcAddr, advertise_addr: g.advertiseAddr, http_addr: g.httpAddr, ops_addr: g.opsAddr })),
  });
}

// ---------------------------------------------------------------------------------------------------- logs

export type LogSeverity = 'debug' | 'info' | 'warn' | 'error' | 'unknown';

const UPSTREAM_LEVELS: Readonly<Record<string, LogSeverity>> = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', WARNING: 'warn', ERROR: 'error', FATAL: 'error' };
const ZAP_LEVELS: Readonly<Record<string, LogSeverity>> = { debug: 'debug', info: 'info', warn: 'warn', error: 'error', dpanic: 'error', panic: 'error', fatal: 'error' };

/**
 * The severity of one line of upstream output. Upstream writes four kinds of line:
 * - its own logger: `[2006-01-02 15:04:05.000] [LEVEL] [Component] message` (DEBUG, INFO, WARN, ERROR, FATAL);
 * - its etcd client (zap, JSON): `{"level":"warn","ts":...,"msg":...}`;
 * - gRPC's logger: `ERROR: 2006/01/02 15:04:05 [core] ...` (also INFO, WARNING, FATAL);
 * - the Go runtime on a crash: `panic: ...` or `fatal error: ...`, then goroutine traces.
 * Anything else (trace lines, plain `log` output) is `unknown`.
 */
export function upstreamLogSeverity(line: string): LogSeverity {
  const own = /^\[[^\]]*\] \[([A-Z]+)\] /.exec(line);
  if (own !== null) return UPSTREAM_LEVELS[own[1]!] ?? 'unknown';
  const grpc = /^(INFO|WARNING|ERROR|FATAL): /.exec(line);
  if (grpc !== null) return UPSTREAM_LEVELS[grpc[1]!]!;
  if (/^(panic: |fatal error: )/.test(line)) return 'error';
  if (line.startsWith('{')) {
    try {
      const level = (JSON.parse(line) as { level?: unknown }).level;
      if (typeof level === 'string') return ZAP_LEVELS[level.toLowerCase()] ?? 'unknown';
    } catch {
      // not JSON after all
    }
  }
  return 'unknown';
}

/** An error-level line the test expects, with the reason it is expected. */
export interface ExpectedLogLine {
  readonly pattern: RegExp;
  readonly reason: string;
}

export interface LogLine {
  /** The process that wrote it (`node0`, `gate0`, ...). */
  readonly source: string;
  readonly text: string;
}

/** Error-level lines of `text` not matched by one of `expected`. */
export function unexpectedErrors(source: string, text: string, expected: readonly ExpectedLogLine[] = []): LogLine[] {
  return text
    .split('\n')
    .filter((l) => upstreamLogSeverity(l) === 'error' && !expected.some((e) => e.pattern.test(l)))
    .map((l) => ({ source, text: l }));
}

// ---------------------------------------------------------------------------------------------------- processes

/** One upstream process (node or gate): started from the shared config file, logs in the cluster's dir. */
abstract class UpstreamProcess {
  proc: ManagedProcess | null = null;

  constructor(
    readonly cluster: UpstreamCluster,
    readonly id: string,
  ) {}

  protected abstract readonly kind: 'node' | 'gate';
  /** The address it registers in etcd under `nodes/` or `gates/`. */
  abstract readonly address: string;

  get logFile(): string {
    return join(this.cluster.dir, `${this.id}.log`);
  }
  get running(): boolean {
    return this.proc?.running ?? false;
  }
  get pid(): number {
    if (this.proc === null || !this.proc.running) throw new Error(`${this.id} is not running`);
    return this.proc.pid;
  }

  /** Starts the process and waits until its key is in etcd. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.id} is already running`);
    const bins = await this.cluster.binaries;
    const [bin, idFlag] = this.kind === 'node' ? [bins.counter, '-node-id'] : [bins.gate, '-gate-id'];
    this.proc = spawnManaged(`upstream ${this.id}`, bin, ['-config', this.cluster.configFile, idFlag, this.id], { logFile: this.logFile });
    const key = `${this.cluster.prefix}/${this.kind === 'node' ? 'nodes' : 'gates'}/${this.address}`;
    await waitRegistered(this.cluster.client, key, this.proc, `upstream ${this.id}`);
  }

  /** SIGTERM (upstream stops cleanly) and wait for the exit; SIGKILL after `graceMs`. */
  stop(graceMs = 30_000): Promise<ExitInfo> {
    return this.proc?.stop('SIGTERM', graceMs) ?? Promise.resolve({ code: 0, signal: null });
  }
  /** `kill -9`: its lease outlives it by up to 15 s. */
  kill(): Promise<ExitInfo> {
    return this.proc?.kill() ?? Promise.resolve({ code: null, signal: 'SIGKILL' });
  }
  /** SIGSTOP: it neither claims nor releases until thawed (its lease lasts 15 s from its last keep-alive). */
  freeze(): void {
    process.kill(this.pid, 'SIGSTOP');
  }
  thaw(): void {
    process.kill(this.pid, 'SIGCONT');
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  errorLines(expected: readonly ExpectedLogLine[] = []): LogLine[] {
    return unexpectedErrors(this.id, this.log(), expected);
  }
}

export class UpstreamNode extends UpstreamProcess {
  protected readonly kind = 'node';

  constructor(
    cluster: UpstreamCluster,
    id: string,
    readonly grpcPort: number,
    readonly httpPort: number,
  ) {
    super(cluster, id);
  }

  get address(): string {
    return `127.0.0.1:${this.grpcPort}`;
  }
  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }
  get metricsUrl(): string {
    return `${this.httpUrl}/metrics`;
  }
  get spec(): UpstreamNodeSpec {
    return { id: this.id, grpcAddr: this.address, advertiseAddr: this.address, httpAddr: `127.0.0.1:${this.httpPort}` };
  }

  async metricsText(): Promise<string> {
    const res = await fetch(this.metricsUrl);
    if (res.status !== 200) throw new Error(`${this.metricsUrl}: HTTP ${res.status}`);
    return res.text();
  }
  async metrics(): Promise<MetricFamilies> {
    return parsePrometheusText(await this.metricsText());
  }
  /** `goverse_shards_total{node}`: the shards this node says it owns. */
  async shardsTotal(): Promise<number> {
    return sumByLabel(await this.metrics(), 'goverse_shards_total', 'node').get(this.address) ?? 0;
  }
  /** `goverse_objects_total{node,shard,type}` summed per shard. */
  async objectsByShard(): Promise<Map<number, number>> {
    const byShard = sumByLabel(await this.metrics(), 'goverse_objects_total', 'shard', { node: this.address });
    return new Map([...byShard].map(([shard, n]) => [Number(shard), n]));
  }
  async ready(): Promise<boolean> {
    return (await fetch(`${this.httpUrl}/ready`)).status === 200;
  }
}

export class UpstreamGate extends UpstreamProcess {
  protected readonly kind = 'gate';

  constructor(
    cluster: UpstreamCluster,
    id: string,
    readonly grpcPort: number,
    readonly httpPort: number,
    readonly opsPort: number,
  ) {
    super(cluster, id);
  }

  get address(): string {
    return `127.0.0.1:${this.grpcPort}`;
  }
  /** The REST API. */
  get apiAddress(): string {
    return `127.0.0.1:${this.httpPort}`;
  }
  get opsUrl(): string {
    return `http://127.0.0.1:${this.opsPort}`;
  }
  get spec(): UpstreamGateSpec {
    return { id: this.id, grpcAddr: this.address, advertiseAddr: this.address, httpAddr: this.apiAddress, opsAddr: `127.0.0.1:${this.opsPort}` };
  }

  /** A REST client of this gate (close it when done). */
  client(): UpstreamGateClient {
    return new UpstreamGateClient(this.apiAddress);
  }
  /** 200 a few seconds after every shard is claimed (the gate checks every 5 s). */
  async ready(): Promise<boolean> {
    return (await fetch(`${this.opsUrl}/ready`)).status === 200;
  }
}

// ---------------------------------------------------------------------------------------------------- cluster

export interface UpstreamClusterOptions {
  /** Upstream nodes to start (default 2). */
  readonly nodes?: number;
  /** Gates to start (default 1). */
  readonly gates?: number;
  /** Default 64. */
  readonly numShards?: number;
  /** Default 1 s (upstream's own default is 10 s). */
  readonly stabilityMs?: number;
  /** Default: upstream's (1 min). */
  readonly stuckTimeoutMs?: number;
  /** Reuse an etcd (the caller closes it); by default a private one is started and closed with the cluster. */
  readonly etcd?: EtcdCluster;
  /** Default: a unique prefix. A goverse-node cluster given the same etcd and prefix joins the same cluster. */
  readonly prefix?: string;
  readonly label?: string;
  /** The binaries (default: built from the kit on demand). */
  readonly binaries?: Promise<UpstreamBinaries>;
}

/** An etcd (private or shared) with upstream nodes and gates under one prefix, configured by one YAML file. */
export class UpstreamCluster {
  readonly nodes: UpstreamNode[] = [];
  readonly gates: UpstreamGate[] = [];

  private constructor(
    readonly etcd: EtcdCluster,
    private readonly ownsEtcd: boolean,
    readonly client: EtcdClient,
    readonly prefix: string,
    readonly numShards: number,
    readonly dir: string,
    readonly binaries: Promise<UpstreamBinaries>,
    private readonly settings: Pick<UpstreamConfigSpec, 'stabilityMs' | 'stuckTimeoutMs'>,
  ) {}

  /** The config file every process starts from (rewritten whenever a process is added). */
  get configFile(): string {
    return join(this.dir, 'goverse.yaml');
  }

  static async start(options: UpstreamClusterOptions = {}): Promise<UpstreamCluster> {
    const binaries = options.binaries ?? upstreamBinaries();
    await binaries;
    const label = options.label ?? 'upstream';
    const etcd = options.etcd ?? (await startEtcd(label));
    const cluster = new UpstreamCluster(
      etcd,
      options.etcd === undefined,
      createEtcdClient({ endpoints: etcd.endpoints }),
      options.prefix ?? uniquePrefix(label),
      options.numShards ?? 64,
      managedTempDir(label),
      binaries,
      { stabilityMs: options.stabilityMs ?? 1000, stuckTimeoutMs: options.stuckTimeoutMs },
    );
    try {
      await cluster.addNodes(options.nodes ?? 2);
      for (let i = 0; i < (options.gates ?? 1); i++) await cluster.addGate();
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** Adds nodes to the config and starts them (unless `start` is false). */
  async addNodes(count: number, start = true): Promise<UpstreamNode[]> {
    const ports = await freePorts(count * 2);
    const added = Array.from({ length: count }, (_, i) => new UpstreamNode(this, `node${this.nodes.length + i}`, ports[2 * i]!, ports[2 * i + 1]!));
    this.nodes.push(...added);
    this.writeConfig();
    if (start) await Promise.all(added.map((n) => n.start()));
    return added;
  }

  /** Adds a gate to the config and starts it (unless `start` is false). */
  async addGate(start = true): Promise<UpstreamGate> {
    const [grpc, http, ops] = await freePorts(3);
    const gate = new UpstreamGate(this, `gate${this.gates.length}`, grpc!, http!, ops!);
    this.gates.push(gate);
    this.writeConfig();
    if (start) await gate.start();
    return gate;
  }

  node(i: number): UpstreamNode {
    const n = this.nodes[i];
    if (n === undefined) throw new Error(`no upstream node ${i}`);
    return n;
  }

  gate(i = 0): UpstreamGate {
    const g = this.gates[i];
    if (g === undefined) throw new Error(`no upstream gate ${i}`);
    return g;
  }

  snapshot(): Promise<ClusterSnapshot> {
    return readSnapshot(this.client, new Keyspace(this.prefix), this.numShards);
  }

  /** Waits until every shard has Target == Current == one of `nodes` (default: the running nodes). */
  waitStable(options: { nodes?: readonly UpstreamNode[]; timeoutMs?: number } = {}): Promise<ClusterSnapshot> {
    const expected = new Set((options.nodes ?? this.nodes.filter((n) => n.running)).map((n) => n.address));
    return waitOwned(() => this.snapshot(), expected, { timeoutMs: options.timeoutMs ?? 60_000 });
  }

  /** Every running gate answers /ready with 200. */
  async waitGatesReady(timeoutMs = 30_000): Promise<void> {
    await waitFor('upstream gates ready', async () => (await Promise.all(this.gates.filter((g) => g.running).map((g) => g.ready()))).every(Boolean), {
      timeoutMs,
      intervalMs: 200,
    });
  }

  /** Metrics URLs of the nodes, for goverse-top's `--metrics-url`. */
  metricsUrls(): string {
    return this.nodes.map((n) => n.metricsUrl).join(',');
  }

  /** Error-level lines in every process's log, except the expected ones. */
  errorLines(expected: readonly ExpectedLogLine[] = []): LogLine[] {
    return [...this.nodes, ...this.gates].flatMap((p) => p.errorLines(expected));
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes, ...this.gates].map((p) => p.kill()));
    await this.client.close();
    if (this.ownsEtcd) await this.etcd.close();
    removeManagedDir(this.dir);
  }

  private writeConfig(): void {
    const yaml = upstreamConfigYaml({
      numShards: this.numShards,
      etcdEndpoints: this.etcd.endpoints,
      prefix: this.prefix,
      ...this.settings,
      nodes: this.nodes.map((n) => n.spec),
      gates: this.gates.map((g) => g.spec),
    });
    // Atomically: a process starting meanwhile reads the old or the new file, never half of one.
    const tmp = join(dirname(this.configFile), '.goverse.yaml.tmp');
    writeFileSync(tmp, yaml);
    renameSync(tmp, this.configFile);
  }
}
