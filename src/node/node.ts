import { hostname } from 'node:os';
import { ClusterMember, type MemberSettings, type StopReport } from '../cluster/member.js';
import { ClusterOperations } from '../cluster/operations.js';
import { ShardLock } from '../cluster/shardLock.js';
import { type Clock, systemClock } from '../core/clock.js';
import { isLoopbackHost, isWildcardHost, splitHostPort } from '../core/config/addresses.js';
import type { GoverseConfig } from '../core/config/settings.js';
import type { Logger } from '../core/log/logger.js';
import { plannerSettingsFromConfig } from '../core/planner/settings.js';
import { createEtcdClient, type EtcdClient } from '../edge/etcd/client.js';
import { etcdOptionsFromConfig } from '../edge/etcd/options.js';
import { BodyBudget } from '../edge/http/bodyBudget.js';
import { Router, type RunningServer, startServer } from '../edge/http/server.js';
import { VERSION } from '../version.js';
import { adminRouter } from './http/admin.js';
import { objectApiRouter } from './http/api.js';
import { opsRouter } from './http/ops.js';
import { AutoLoader } from './autoLoader.js';
import { LoadReporter } from './loadReporter.js';
import { NodeMetricsRegistry } from './metrics.js';
import { registerBuiltinTypes } from './objects/builtins/index.js';
import type { LifecycleSink } from './objects/lifecycleLog.js';
import { LifecycleLogFile } from './objects/lifecycleLogFile.js';
import { ObjectHost } from './objects/objectHost.js';
import { ObjectRegistry } from './objects/registry.js';
import { openObjectDatabase } from './objectDatabase.js';
import { MonitoredObjectStore } from './persistence/monitoredObjectStore.js';
import type { ObjectStore } from './persistence/objectStore.js';
import { nodeReadiness, type NodeReadiness } from './readiness.js';

const LOAD_REPORT_INTERVAL_MS = 3000;

/** The cluster member's settings from the resolved configuration. */
export function memberSettings(config: GoverseConfig): MemberSettings {
  const ttlMs = config.leaseTtl;
  return {
    prefix: config.etcdPrefix,
    numShards: config.numShards,
    leaseTtlSeconds: Math.round(ttlMs / 1000),
    // Serving stops a fifth of the TTL (at most 2 s, at least 300 ms) before the lease could expire.
    fenceMarginMs: Math.max(300, Math.min(2000, ttlMs / 5)),
    shardCheckIntervalMs: config.shardCheckInterval,
    shutdownTimeoutMs: config.shutdownTimeout,
    strategy: config.rebalanceStrategy,
    planner: plannerSettingsFromConfig(config),
    lockTimeoutMs: config.lockTimeout,
  };
}

/**
 * One goverse-node: the cluster member, the objects it hosts with their SQLite store, the object API, the
 * operations endpoints, the admin API and the load reporter, started and stopped in the right order.
 */
export class GoverseNode {
  private loadReporter: LoadReporter | null = null;
  private unsubscribe: (() => void) | null = null;

  private constructor(
    readonly address: string,
    readonly member: ClusterMember,
    readonly host: ObjectHost,
    readonly metrics: NodeMetricsRegistry,
    private readonly client: EtcdClient,
    private readonly store: MonitoredObjectStore,
    private readonly events: LifecycleSink & { close?(): void },
    private readonly servers: { api: RunningServer; ops: RunningServer | null; admin: RunningServer | null },
    private readonly config: GoverseConfig,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  get apiPort(): number {
    return this.servers.api.port;
  }

  get opsPort(): number | null {
    return this.servers.ops?.port ?? null;
  }

  get adminPort(): number | null {
    return this.servers.admin?.port ?? null;
  }

  /** Opens the object database first: a node pointed at another cluster's database stops before it listens. */
  static async start(config: GoverseConfig, logger: Logger, clock: Clock = systemClock): Promise<GoverseNode> {
    const database = await openObjectDatabase(config, logger, clock);
    try {
      return await GoverseNode.startOn(database, config, logger, clock);
    } catch (err) {
      await database.close();
      throw err;
    }
  }

  private static async startOn(database: ObjectStore, config: GoverseConfig, logger: Logger, clock: Clock): Promise<GoverseNode> {
    const limits = { maxConnections: config.maxConnections };
    const bodies = new BodyBudget(config.maxBodyBuffer);
    const apiRouter = new Router();
    const api = await startServer(config.listen, apiRouter, logger, limits);
    const address = withPort(config.advertise, api.port);
    const log = logger.child({ node: address });
    warnIfExposed(config, log);
    const metrics = new NodeMetricsRegistry(address);
    const opsRouterRef = new Router();
    const ops = config.httpListen === '' ? null : await startServer(config.httpListen, opsRouterRef, log, limits);
    const client = createEtcdClient(etcdOptionsFromConfig(config, log));
    const store = new MonitoredObjectStore(database, {
      logger: log,
      clock,
      onError: (op, code) => metrics.persistenceErrors.inc({ op, code }),
    });
    const events: LifecycleSink & { close?(): void } = config.eventLog === '' ? { record: () => {} } : new LifecycleLogFile(config.eventLog);
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
      client,
      address,
      settings: memberSettings(config),
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
    });
    const registry = new ObjectRegistry();
    registerBuiltinTypes(registry, { keyValue: { maxBytes: config.keyValueMaxBytes } });
    const host = new ObjectHost({
      registry,
      store,
      events,
      numShards: config.numShards,
      clock,
      logger: log,
      gate: {
        nodeAddress: address,
        shardEpoch: (id) => member.shardEpoch(id),
        nodeEpoch: () => member.nodeEpoch(),
        acquireRead: (id, wait) => lock.acquireRead(id, wait),
      },
    });
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
        numShards: config.numShards,
        clock,
        timeouts: { callMs: config.defaultCallTimeout, createMs: config.defaultCreateTimeout, deleteMs: config.defaultDeleteTimeout },
        bodies,
      },
      apiRouter,
    );
    opsRouter(metrics, readiness, opsRouterRef);
    let admin: RunningServer | null = null;
    if (config.adminToken !== '') {
      const operations = new ClusterOperations({ client, prefix: config.etcdPrefix, logger: log, metrics: metrics.member.writer });
      admin = await startServer(
        config.adminListen,
        adminRouter({
          token: config.adminToken,
          bodies,
          operations,
          snapshot: () => member.snapshot,
          clock,
          by: `admin@${address}`,
          maxPauseMs: config.maxPause,
        }),
        log,
        limits,
      );
      log.info('admin API listening', { url: `http://${withPort(hostOf(config.adminListen, '127.0.0.1:0'), admin.port)}` });
    }
    const node = new GoverseNode(address, member, host, metrics, client, store, events, { api, ops, admin }, config, clock, log);
    await member.start();
    node.loadReporter = new LoadReporter({
      stats: () => host.stats(),
      publish: (value) => member.membership.putLeased(member.keys.load(address), value),
      intervalMs: LOAD_REPORT_INTERVAL_MS,
      clock,
      logger: log,
    });
    node.loadReporter.start();
    if (config.autoLoadObjects.length > 0) {
      const autoLoader = new AutoLoader({
        entries: config.autoLoadObjects,
        self: address,
        numShards: config.numShards,
        served: () => {
          const served = new Map<number, number>();
          for (let id = 0; id < config.numShards; id++) {
            const epoch = member.shardEpoch(id);
            if (epoch !== null) served.set(id, epoch);
          }
          return served;
        },
        nodeEpoch: () => member.nodeEpoch(),
        create: (type, id) => host.create(type, id),
        logger: log,
      });
      node.unsubscribe = member.watcher.subscribe((ev) => {
        if (ev.type === 'snapshot') autoLoader.trigger();
      });
      autoLoader.trigger();
    }
    log.info('goverse-node started', { api: `http://${address}`, ops: ops?.port ?? null, hostname: hostname() });
    return node;
  }

  /** Graceful by default (hand shards over); `fast` keeps the assignments for a restart that comes right back. */
  async stop(mode: 'graceful' | 'fast' = this.config.fastShutdown ? 'fast' : 'graceful'): Promise<StopReport> {
    const started = this.clock.monotonic();
    this.unsubscribe?.();
    await this.loadReporter?.stop();
    let report: StopReport;
    try {
      report = await this.member.stop(mode);
      this.metrics.stopDuration.observe({ node_addr: this.address, status: 'success' }, (this.clock.monotonic() - started) / 1000);
    } catch (err) {
      this.metrics.stopDuration.observe({ node_addr: this.address, status: 'error' }, (this.clock.monotonic() - started) / 1000);
      throw err;
    } finally {
      await Promise.all([this.servers.api.close(), this.servers.ops?.close(), this.servers.admin?.close()]);
      await this.store.close();
      this.events.close?.();
      await this.client.close();
    }
    this.log.info('goverse-node stopped', { mode, durationMs: report.durationMs, left: report.left.length });
    return report;
  }
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
