import { createWriteStream } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { flagsFromOptions } from '../core/config/flags.js';
import { explicitSource, resolveConfig } from '../core/config/resolve.js';
import type { GoverseConfig } from '../core/config/settings.js';
import { ConfigError, describeError, GoverseError, UnavailableError } from '../core/errors.js';
import { Keyspace } from '../core/keyspace/keys.js';
import { createLogger, type Logger, nullLogger, streamSink } from '../core/log/logger.js';
import { plannerSettingsFromConfig } from '../core/planner/settings.js';
import { type ConfiguredShardCount, configuredCountProblem } from '../core/snapshot/layout.js';
import type { ClusterSnapshot } from '../core/snapshot/snapshot.js';
import { buildClusterView, type ClusterView, type NodeMetrics, parseMetricsSources, type ViewInput } from '../core/view/index.js';
import { loadConfigFile } from '../edge/config/loadConfigFile.js';
import { withPasswordFile } from '../edge/config/passwordFile.js';
import type { CallOptions, EtcdClient } from '../edge/etcd/client.js';
import { etcdOptionsFromConfig } from '../edge/etcd/options.js';
import { readSnapshot } from '../edge/etcd/readSnapshot.js';
import { type NodeScrapes, scrapeNodes } from '../edge/http/scraper.js';
import { formatDuration } from '../core/duration.js';
import { Output } from './output.js';
import { promptHidden } from './prompt.js';

/** Attribute names of the connection and output options each command declares (see withGlobalOptions). */
const globalAttributes = new WeakMap<Command, Set<string>>();

export function markGlobal(cmd: Command, attribute: string): void {
  let set = globalAttributes.get(cmd);
  if (set === undefined) globalAttributes.set(cmd, (set = new Set()));
  set.add(attribute);
}

/**
 * The connection and output options a command was given: the program's (before the subcommand) under the
 * subcommand's own. A command's own option of the same name (`stuck --timeout`) is not one of them.
 */
export function globalOptions(cmd: Command): Record<string, unknown> {
  const chain: Command[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) chain.unshift(c);
  const merged: Record<string, unknown> = {};
  for (const c of chain) {
    const globals = globalAttributes.get(c) ?? new Set<string>();
    for (const [key, value] of Object.entries(c.opts())) {
      if (!globals.has(key)) continue;
      // `--no-color` leaves a default `color: true` on every level; only a value given on the command line counts.
      if (c.getOptionValueSource(key) === 'cli' || !(key in merged)) merged[key] = value;
    }
  }
  return merged;
}

/**
 * What a command runs with: the resolved configuration, where it writes, and the etcd connection (opened on first
 * use, closed when the command ends).
 */
export class CommandContext {
  /** The cluster's key layout, built once from the configured prefix. */
  readonly keys: Keyspace;
  private etcd: EtcdClient | null = null;

  private constructor(
    readonly config: GoverseConfig,
    readonly out: Output,
    readonly logger: Logger,
    /** Where an explicit `numShards` came from (null: the default, which follows the cluster's record). */
    readonly explicitShards: string | null = null,
  ) {
    this.keys = new Keyspace(config.etcdPrefix);
  }

  /** Resolves defaults < `--config` YAML < environment < flags; a bad value is a ConfigError (exit 2). */
  static async create(options: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv = process.env): Promise<CommandContext> {
    const path = (options.config as string | undefined) ?? env.GOVERSE_CONFIG;
    const file = path === undefined || path === '' ? undefined : await loadConfigFile(path);
    const resolved = resolveConfig({ scope: 'cli', env, flags: flagsFromOptions(options, 'cli'), ...(file ? { file } : {}) });
    let config = await withPasswordFile(resolved.config);
    if (config.etcdUser !== '' && config.etcdPassword === '') config = { ...config, etcdPassword: await askPassword(config.etcdUser) };
    const logger =
      config.logFile === '' ? nullLogger : createLogger(streamSink(createWriteStream(config.logFile, { flags: 'a', mode: 0o600 })), config.logLevel);
    const out = Output.forProcess(config.output, config.noColor);
    for (const w of resolved.warnings) out.note(`warning: config: ${w}`);
    return new CommandContext(config, out, logger, explicitSource('numShards', resolved.sources));
  }

  /** Who acts, recorded in drain and pause records. */
  get actor(): string {
    let user = 'unknown';
    try {
      user = userInfo().username;
    } catch {
      // No passwd entry (some containers): the host still says where it came from.
    }
    return `${user}@${hostname()}`;
  }

  /** etcd3 (gRPC, protobuf) costs a third of a second to load: commands that never reach etcd do not pay it. */
  async client(): Promise<EtcdClient> {
    if (this.etcd === null) {
      const { createEtcdClient } = await import('../edge/etcd/client.js');
      this.etcd ??= createEtcdClient(etcdOptionsFromConfig(this.config, this.logger));
    }
    return this.etcd;
  }

  /**
   * Runs one etcd read within the etcd timeout. An unreachable etcd fails with an UnavailableError (exit 1) naming
   * the endpoints tried; bad credentials stay a ConfigError (exit 2).
   */
  async etcdRead<T>(what: string, read: (client: EtcdClient, options: CallOptions) => Promise<T>): Promise<T> {
    const { etcdEndpoints, etcdTimeout } = this.config;
    try {
      const client = await this.client();
      return await read(client, { signal: AbortSignal.timeout(etcdTimeout), timeoutMs: etcdTimeout });
    } catch (err) {
      if (err instanceof GoverseError && err.code === 'config') throw err;
      throw new UnavailableError(
        `cannot read ${what} from etcd at ${etcdEndpoints.join(', ')} within ${formatDuration(etcdTimeout)}: ${describeError(err)}`,
        { cause: err },
      );
    }
  }

  /**
   * One consistent read of the cluster. An explicit shard count that disagrees with the cluster's record (or a
   * malformed record) is a ConfigError (exit 2): counts, shard lists and routing would be wrong.
   */
  async snapshot(): Promise<ClusterSnapshot> {
    const { numShards } = this.config;
    const snap = await this.etcdRead('the cluster', (client, options) => readSnapshot(client, this.keys, numShards, options));
    const problem = configuredCountProblem(snap, this.shardCount);
    if (problem !== null) throw problem;
    return snap;
  }

  /** The configured shard count and whether it was explicit. */
  get shardCount(): ConfiguredShardCount {
    return { count: this.config.numShards, explicit: this.explicitShards };
  }

  /**
   * The nodes' metrics: one round of scrapes (each bounded by the timeout), or with `--prometheus-url` one refresh of
   * the Prometheus queries, whose failure is an UnavailableError naming the server (exit 1).
   */
  async scrape(snapshot: ClusterSnapshot, previous: ReadonlyMap<string, NodeMetrics> = new Map()): Promise<NodeScrapes> {
    const sources = parseMetricsSources(this.config.metricsUrl, this.config.configNodes);
    const { prometheusUrl, etcdTimeout, refresh } = this.config;
    if (prometheusUrl === '') return scrapeNodes(snapshot, sources, previous, { timeoutMs: etcdTimeout });
    const { readPrometheusMetrics } = await import('../edge/http/prometheus.js');
    const metrics = await readPrometheusMetrics(snapshot, sources, previous, { url: prometheusUrl, timeoutMs: etcdTimeout, refreshMs: refresh });
    return { metrics, unmatched: [] };
  }

  /** The view of a snapshot; `stableSince` as a watcher saw it (omitted: the cluster is taken as stable). */
  view(snapshot: ClusterSnapshot, extra: Partial<Omit<ViewInput, 'snapshot' | 'balancer'>> = {}, stableSince?: number | null): ClusterView {
    const settings = plannerSettingsFromConfig(this.config);
    return buildClusterView({
      snapshot,
      now: Date.now(),
      stuckTimeoutMs: this.config.stuckTimeout,
      balancer: { strategy: this.config.rebalanceStrategy, settings, ...(stableSince === undefined ? {} : { stableSince }) },
      ...extra,
    });
  }

  /** The same command against another cluster (the demo's), writing to the same output. */
  withConfig(changes: Partial<GoverseConfig>): CommandContext {
    return new CommandContext({ ...this.config, ...changes }, this.out, this.logger, this.explicitShards);
  }


  async close(): Promise<void> {
    const etcd = this.etcd;
    this.etcd = null;
    await etcd?.close().catch(() => undefined);
  }
}

async function askPassword(user: string): Promise<string> {
  if (process.stdin.isTTY !== true) {
    throw new ConfigError(
      'flag --user',
      `etcd user ${JSON.stringify(user)} needs a password: set GOVERSE_ETCD_PASSWORD or give --password-file`,
    );
  }
  return promptHidden(`etcd password for ${user}: `);
}
