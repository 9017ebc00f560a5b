import { hostname } from 'node:os';
import { ClusterMember, type StopReport } from '../cluster/member.js';
import { ClusterOperations } from '../edge/operations/clusterOperations.js';
import { HistoryLog } from '../edge/history/historyLog.js';
import { ShardLock } from '../cluster/shardLock.js';
import { type Clock, systemClock } from '../core/clock.js';
import { isLoopbackHost, isWildcardHost, splitHostPort } from '../core/config/addresses.js';
import type { GoverseConfig } from '../core/config/settings.js';
import { shardWriteRetryFromConfig } from '../core/config/shardWriteRetry.js';
import { Keyspace } from '../core/keyspace/keys.js';
import type { Logger } from '../core/log/logger.js';
import { memberSettingsFromConfig } from '../core/planner/settings.js';
import { type ObjectPlacement, shardOfObject } from '../core/sharding/objectId.js';
import { placeInSnapshot, servingShardIn } from '../core/snapshot/layout.js';
import { historyBoundsFromConfig } from '../core/history/bounds.js';
import { createEtcdClient, type EtcdClient } from '../edge/etcd/client.js';
import { etcdOptionsFromConfig } from '../edge/etcd/options.js';
import { BodyBudget } from '../edge/http/bodyBudget.js';
import { Router, type RunningServer, type ServerLimits, startServer } from '../edge/http/server.js';
import { VERSION } from '../version.js';
import { adminRouter } from './http/admin.js';
import { objectApiRouter } from './http/api.js';
import { opsRouter } from './http/ops.js';
import { AutoLoader } from './autoLoader.js';
import { UpstreamNotice } from './upstreamNotice.js';
import { LoadReporter } from './loadReporter.js';
import { NodeMetricsRegistry } from './metrics.js';
import { registerBuiltinTypes } from './objects/builtins/index.js';
import type { LifecycleSink } from './objects/lifecycleLog.js';
import { LifecycleLogFile } from './objects/lifecycleLogFile.js';
import { ObjectHost } from './objects/objectHost.js';
import { ObjectRegistry } from './objects/registry.js';
import { LocalStoreNotice } from './localStoreNotice.js';
import { type ObjectDatabase, openObjectDatabase } from './objectDatabase.js';
import { MonitoredObjectStore } from './persistence/monitoredObjectStore.js';
import { nodeReadiness, type NodeReadiness } from './readiness.js';
import { type StartHooks, StartedSteps, type StartStep } from './startup.js';

const LOAD_REPORT_INTERVAL_MS = 3000;

/** How the node stops: graceful or fast, since when (the stop-duration metric), and the member's report. */
interface NodeStop {
  readonly mode: 'graceful' | 'fast';
  readonly startedAt: number;
  report: StopReport | null;
}

/** The parts of a node, made by its start-up steps: each field is set by the step that names it, in step order. */
class NodeParts {
  readonly limits: ServerLimits;
  readonly bodies: BodyBudget;
  /** The cluster's key layout, built once from the configured prefix. */
  readonly keys: Keyspace;
  readonly apiRouter = new Router();
  readonly opsRouter = new Router();
  /** object database */
  database!: ObjectDatabase;
  /** object API server */
  api!: RunningServer;
  address!: string;
  log!: Logger;
  metrics!: NodeMetricsRegistry;
  /** operations server */
  ops: RunningServer | null = null;
  /** etcd client */
  client!: EtcdClient;
  /** event log */
  events!: LifecycleSink & { close?(): void };
  /** objects: the monitored store (it owns the database once made), the shard lock, the member and the host */
  store: MonitoredObjectStore | null = null;
  member!: ClusterMember;
  host!: ObjectHost;
  /** admin API server */
  admin: RunningServer | null = null;
  /** load reporter */
  loadReporter!: LoadReporter;
  /** auto loader */
  unsubscribe: (() => void) | null = null;
  /** upstream notice */
  stopNotice: (() => void) | null = null;
  /** store notice */
  stopStoreNotice: (() => void) | null = null;

  constructor(
    readonly config: GoverseConfig,
    readonly logger: Logger,
    readonly clock: Clock,
    readonly explicitShards: string | null,
  ) {
    this.keys = new Keyspace(config.etcdPrefix);
    this.limits = { maxConnections: config.maxConnections };
    this.bodies = new BodyBudget(config.maxBodyBuffer);
  }
}

type StepActions = Omit<StartStep<string, NodeStop>, 'name'>;

/**
 * A node's start-up steps, in order; stopping walks them in reverse. The object database opens first, so a node
 * pointed at another cluster's database stops before it listens; the member registers only once everything that
 * serves its shards is in place.
 */
const STEPS = {
  'object database': (p: NodeParts): StepActions => ({
    start: async () => {
      p.database = await openObjectDatabase(p.config, p.logger, p.clock);
    },
    stop: () => (p.store ?? p.database.store).close(),
  }),
  'object API server': (p) => ({
    start: async () => {
      p.api = await startServer(p.config.listen, p.apiRouter, p.logger, p.limits);
      p.address = withPort(p.config.advertise, p.api.port);
      p.log = p.logger.child({ node: p.address });
      warnIfExposed(p.config, p.log);
      p.metrics = new NodeMetricsRegistry(p.address);
    },
    stop: () => p.api.close(),
  }),
  'operations server': (p) => ({
    start: async () => {
      p.ops = p.config.httpListen === '' ? null : await startServer(p.config.httpListen, p.opsRouter, p.log, p.limits);
    },
    stop: () => p.ops?.close(),
  }),
  'etcd client': (p) => ({
    start: () => {
      p.client = createEtcdClient(etcdOptionsFromConfig(p.config, p.log));
    },
    stop: () => p.client.close(),
  }),
  'event log': (p) => ({
    start: () => {
      p.events = p.config.eventLog === '' ? { record: () => {} } : new LifecycleLogFile(p.config.eventLog);
    },
    stop: () => p.events.close?.(),
  }),
  objects: (p) => ({ start: () => makeObjects(p) }),
  'admin API server': (p) => ({ start: () => startAdmin(p), stop: () => p.admin?.close() }),
  'cluster member': (p) => ({
    start: () => p.member.start(),
    stop: async (how) => {
      const seconds = (): number => (p.clock.monotonic() - how.startedAt) / 1000;
      try {
        how.report = await p.member.stop(how.mode);
        p.metrics.stopDuration.observe({ node_addr: p.address, status: 'success' }, seconds());
      } catch (err) {
        p.metrics.stopDuration.observe({ node_addr: p.address, status: 'error' }, seconds());
        throw err;
      }
    },
  }),
  'load reporter': (p) => ({
    start: () => {
      p.loadReporter = new LoadReporter({
        stats: () => p.host.stats(),
        publish: (value) => p.member.membership.putLeased(p.keys.load(p.address), value),
        intervalMs: LOAD_REPORT_INTERVAL_MS,
        clock: p.clock,
        logger: p.log,
      });
      p.loadReporter.start();
    },
    stop: () => p.loadReporter.stop(),
  }),
  'auto loader': (p) => ({ start: () => startAutoLoader(p), stop: () => p.unsubscribe?.() }),
  'upstream notice': (p) => ({
    start: () => {
      const notice = new UpstreamNotice(p.address, p.log);
      p.stopNotice = p.member.watcher.subscribe((ev) => {
        if (ev.type === 'snapshot') notice.observe(ev.snapshot);
      });
      notice.observe(p.member.snapshot);
    },
    stop: () => p.stopNotice?.(),
  }),
  'store notice': (p) => ({
    start: () => {
      if (p.database.kind !== 'sqlite') return;
      const notice = new LocalStoreNotice(p.address, p.database.location, p.log);
      p.stopStoreNotice = p.member.watcher.subscribe((ev) => {
        if (ev.type === 'snapshot') notice.observe(ev.snapshot);
      });
      notice.observe(p.member.snapshot);
    },
    stop: () => p.stopStoreNotice?.(),
  }),
} satisfies Record<string, (p: NodeParts) => StepActions>;

export type NodeStartStep = keyof typeof STEPS;

/** The names of the node's start-up steps, in start order. */
export const NODE_START_STEPS = Object.keys(STEPS) as NodeStartStep[];

export interface NodeStartOptions {
  readonly clock?: Clock;
  /** Where an explicit `numShards` came from (`flag --num-shards`...): it must agree with the cluster's record. */
  readonly explicitShards?: string | null;
  /** Test seam: a failure thrown here fails start-up at that step. */
  readonly hooks?: StartHooks<NodeStartStep>;
}

/**
 * One goverse-node: the cluster member, the objects it hosts with their store (SQLite or PostgreSQL), the object API, the
 * operations endpoints, the admin API and the load reporter, started as ordered steps (NODE_START_STEPS) and stopped
 * in reverse. A step that fails stops the ones started before it, so a failed start leaves nothing running.
 */
export class GoverseNode {
  private stopping: Promise<StopReport> | null = null;

  private constructor(
    private readonly parts: NodeParts,
    private readonly steps: StartedSteps<NodeStartStep, NodeStop>,
  ) {}

  get address(): string {
    return this.parts.address;
  }

  get member(): ClusterMember {
    return this.parts.member;
  }

  get host(): ObjectHost {
    return this.parts.host;
  }

  get metrics(): NodeMetricsRegistry {
    return this.parts.metrics;
  }

  get apiPort(): number {
    return this.parts.api.port;
  }

  get opsPort(): number | null {
    return this.parts.ops?.port ?? null;
  }

  get adminPort(): number | null {
    return this.parts.admin?.port ?? null;
  }

  static async start(config: GoverseConfig, logger: Logger, options: NodeStartOptions = {}): Promise<GoverseNode> {
    const clock = options.clock ?? systemClock;
    const parts = new NodeParts(config, logger, clock, options.explicitShards ?? null);
    const steps = await StartedSteps.start<NodeStartStep, NodeStop>(
      NODE_START_STEPS.map((name) => ({ name, ...STEPS[name](parts) })),
      {
        log: logger,
        // A start-up that failed after the member registered keeps nothing to hand over: it deregisters at once.
        unwind: () => ({ mode: 'fast', startedAt: clock.monotonic(), report: null }),
        ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
      },
    );
    parts.log.info('goverse-node started', { api: `http://${parts.address}`, ops: parts.ops?.port ?? null, hostname: hostname() });
    return new GoverseNode(parts, steps);
  }

  /**
   * Stops the steps in reverse: graceful by default (hand shards over); `fast` keeps the assignments for a restart
   * that comes right back. Once: a later call gets the first one's result.
   */
  stop(mode: 'graceful' | 'fast' = this.parts.config.fastShutdown ? 'fast' : 'graceful'): Promise<StopReport> {
    this.stopping ??= this.stopSteps(mode);
    return this.stopping;
  }

  private async stopSteps(mode: 'graceful' | 'fast'): Promise<StopReport> {
    const how: NodeStop = { mode, startedAt: this.parts.clock.monotonic(), report: null };
    await this.steps.stop(how);
    const report = how.report!;
    this.parts.log.info('goverse-node stopped', { mode, durationMs: report.durationMs, left: report.left.length });
    return report;
  }
}

/** The object store, the shard lock, the cluster member and the object host, wired to each other and to the routes. */
function makeObjects(p: NodeParts): void {
  const { config, clock, log, metrics, address, ops } = p;
  const store = new MonitoredObjectStore(p.database.store, {
    logger: log,
    clock,
    onError: (op, code) => metrics.persistenceErrors.inc({ op, code }),
  });
  p.store = store;
  const lock = new ShardLock({
    numShards: config.numShards,
    logger: log,
    clock,
    hooks: metrics.lock,
    maxHoldMs: config.lockMaxHold,
    slowAcquireMs: config.lockWarnThreshold,
    defaultTimeoutMs: config.lockTimeout,
  });
  const member = new ClusterMember({
    client: p.client,
    keys: p.keys,
    address,
    settings: memberSettingsFromConfig(config),
    nodeInfo: {
      nodeId: config.nodeId === '' || config.nodeId === config.advertise ? address : config.nodeId,
      opsUrl: ops === null ? '' : `http://${withPort(hostOf(config.httpListen, address), ops.port)}`,
      apiUrl: `http://${address}`,
      version: VERSION,
      weight: config.weight,
      startedAt: clock.now(),
    },
    lock,
    clock,
    logger: log,
    metrics: metrics.member,
    shardCount: { count: config.numShards, explicit: p.explicitShards },
  });
  p.member = member;
  // A split makes more shard IDs valid: the lock grows with the layout before any call can name them.
  member.watcher.subscribe((ev) => ev.type === 'snapshot' && lock.grow(ev.snapshot.numShards));
  const place = (id: string): ObjectPlacement => placeInSnapshot(member.snapshot, id);
  const registry = new ObjectRegistry();
  registerBuiltinTypes(registry, { keyValue: { maxBytes: config.keyValueMaxBytes } });
  const host = new ObjectHost({
    registry,
    store,
    events: p.events,
    place,
    clock,
    logger: log,
    gate: {
      nodeAddress: address,
      shardEpoch: (id) => member.shardEpoch(id),
      nodeEpoch: () => member.nodeEpoch(),
      acquireRead: (id, wait) => lock.acquireRead(id, wait),
    },
  });
  p.host = host;
  member.attachObjects(host);
  const readiness = (): NodeReadiness => nodeReadiness(member.readiness(), store.health());
  metrics.bind({
    snapshot: () => member.snapshot,
    hostStats: () => host.stats(),
    readiness,
    lockStats: () => lock.stats(),
    stuckTimeoutMs: config.stuckTimeout,
  });
  objectApiRouter(
    {
      host,
      metrics,
      place,
      clock,
      timeouts: { callMs: config.defaultCallTimeout, createMs: config.defaultCreateTimeout, deleteMs: config.defaultDeleteTimeout },
      bodies: p.bodies,
    },
    p.apiRouter,
  );
  opsRouter(metrics, readiness, p.opsRouter);
}

/** The admin API, when a token is set. */
async function startAdmin(p: NodeParts): Promise<void> {
  const { config, log, member, address } = p;
  if (config.adminToken === '') return;
  const by = `admin@${address}`;
  const history = new HistoryLog({ client: p.client, keys: p.keys, bounds: historyBoundsFromConfig(config), clock: p.clock, logger: log });
  const operations = new ClusterOperations({
    client: p.client,
    keys: p.keys,
    stuckTimeoutMs: config.stuckTimeout,
    retry: shardWriteRetryFromConfig(config),
    logger: log,
    metrics: p.metrics.member.writer,
    history: { log: history, who: { actor: by, source: 'admin-api' } },
    clock: p.clock,
  });
  p.admin = await startServer(
    config.adminListen,
    adminRouter({
      token: config.adminToken,
      bodies: p.bodies,
      operations,
      snapshot: () => member.snapshot,
      clock: p.clock,
      by,
      maxPauseMs: config.maxPause,
    }),
    log,
    p.limits,
  );
  log.info('admin API listening', { url: `http://${withPort(hostOf(config.adminListen, '127.0.0.1:0'), p.admin.port)}` });
}

/** The objects created at start (`autoLoadObjects`), created again as the node gains shards. */
function startAutoLoader(p: NodeParts): void {
  const { config, member, host, address } = p;
  if (config.autoLoadObjects.length === 0) return;
  const autoLoader = new AutoLoader({
    entries: config.autoLoadObjects,
    self: address,
    shardOf: (id) => servingShardIn(member.snapshot, shardOfObject(id, member.snapshot.numShards)),
    served: () => member.servedEpochs(),
    nodeEpoch: () => member.nodeEpoch(),
    create: (type, id) => host.create(type, id),
    logger: p.log,
  });
  p.unsubscribe = member.watcher.subscribe((ev) => {
    if (ev.type === 'snapshot') autoLoader.trigger();
  });
  autoLoader.trigger();
}

/**
 * The object API has no authentication (as upstream's): reachable beyond loopback, anyone who can connect can call,
 * create and delete objects. Peers on other machines must reach it, so that is the default, named at every start.
 * The admin API's token crosses the network in clear text when it listens beyond loopback.
 */
function warnIfExposed(config: GoverseConfig, log: Logger): void {
  const api = splitHostPort(config.listen);
  if (api !== undefined && !isLoopbackHost(api.host)) {
    log.warn('the object API accepts unauthenticated requests from every host that can reach it', {
      listen: config.listen,
      interfaces: isWildcardHost(api.host) ? 'all' : api.host,
      advice: 'allow only the cluster\'s nodes and clients to reach this port (firewall or a private network)',
    });
  }
  const admin = splitHostPort(config.adminListen);
  if (config.adminToken !== '' && admin !== undefined && !isLoopbackHost(admin.host)) {
    log.warn('the admin API listens beyond loopback over plain HTTP: its bearer token can be read on the network', {
      adminListen: config.adminListen,
      advice: 'keep it on loopback, or reach it only through a TLS-terminating proxy or a private network',
    });
  }
}

/** `host:0` becomes `host:<bound port>` (a node started on a free port advertises the port it got). */
function withPort(address: string, port: number): string {
  const hp = splitHostPort(address);
  if (hp === undefined || hp.port !== 0) return address;
  return `${hp.host}:${port}`;
}

/** The host to publish for a listen address: its own host, or the advertise host for wildcard listeners. */
function hostOf(listen: string, advertise: string): string {
  const hp = splitHostPort(listen);
  const adv = splitHostPort(advertise);
  const host = hp === undefined || isWildcardHost(hp.host) ? (adv?.host ?? 'localhost') : hp.host;
  return `${host}:${hp?.port ?? 0}`;
}
