/**
 * `goverse-top` and `goverse-top top`: the interactive console. Wires the edges (etcd watcher, metrics scrapes,
 * cluster operations, the terminal) to the controller and renders it with Ink on the alternate screen until the
 * operator quits or a signal arrives. Nothing is printed while the screen is in use; logs go to --log-file only.
 */
import { systemClock } from '../core/clock.js';
import type { GoverseConfig } from '../core/config/settings.js';
import { historyBoundsFromConfig } from '../core/history/bounds.js';
import { shardWriteRetryFromConfig } from '../core/config/shardWriteRetry.js';
import type { Keyspace } from '../core/keyspace/keys.js';
import type { Logger } from '../core/log/logger.js';
import { plannerSettingsFromConfig } from '../core/planner/settings.js';
import type { ConfigError } from '../core/errors.js';
import { type ConfiguredShardCount, configuredCountProblem } from '../core/snapshot/layout.js';
import { emptySnapshot } from '../core/snapshot/snapshot.js';
import { parseMetricsSources } from '../core/view/index.js';
import { createEtcdClient, type EtcdClient } from '../edge/etcd/client.js';
import { etcdOptionsFromConfig } from '../edge/etcd/options.js';
import { sleep } from '../edge/timing.js';
import { ClusterWatcher, type WatcherListener } from '../edge/etcd/watcher.js';
import { PrometheusPoller } from '../edge/http/prometheus.js';
import { ScrapeScheduler } from '../edge/http/scrapeScheduler.js';
import { ClusterOperations } from '../edge/operations/clusterOperations.js';
import { HistoryFeed } from '../edge/history/historyFeed.js';
import { HistoryLog } from '../edge/history/historyLog.js';
import { ConsoleController } from './controller.js';
import { HeapGuard, loadInk } from './inkPatches/index.js';
import { copyToClipboard, enterTerminal } from './terminal.js';
import { createTheme, wantsColor } from './theme.js';

/** What the CLI hands over (`goverse-top top`, src/cli/commands/top.ts). */
export interface ConsoleContext {
  readonly config: GoverseConfig;
  /** The cluster's key layout (the configured prefix). */
  readonly keys: Keyspace;
  /** Goes to --log-file or nowhere, never to the screen. */
  readonly logger: Logger;
  /** Who acts, recorded in records (`user@host`). */
  readonly actor: string;
  /** The configured shard count and whether it was explicit (checked against the cluster's record). */
  readonly shardCount: ConfiguredShardCount;
}

export interface ConsoleIo {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

/** Frames per second at most: a storm of etcd events costs a few frames a second, while keys answer at once. */
const MAX_FPS = { data: 5, input: 20 } as const;

/**
 * Watch events are applied in batches this far apart at most: within a data frame (200 ms apart at most 5 a second),
 * and a storm costs a few copies of the shard table a second (512 KB each at 65,536 shards: the old-generation garbage
 * that makes the heap guard collect).
 */
const WATCH_COALESCE_MS = 100;

/** How long quitting waits for the connections to close. */
const CLOSE_GRACE_MS = 2000;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Feeds the controller the watcher's events. As for every other command, an explicit shard count that disagrees with
 * the cluster's record ends the console (exit 2): the map and every shard list would be wrong.
 */
function watcherFeed(ctl: ConsoleController, shardCount: ConfiguredShardCount, refuse: (err: ConfigError) => void): WatcherListener {
  let refused = false;
  return (event) => {
    if (event.type === 'snapshot' && event.cause === 'initial') {
      const problem = configuredCountProblem(event.snapshot, shardCount);
      if (problem !== null) {
        refused = true;
        refuse(problem);
      }
    }
    if (!refused) ctl.onWatcherEvent(event);
  };
}

/** Runs the console until quit; returns the exit code. */
export async function runConsole(ctx: ConsoleContext, io: ConsoleIo = process): Promise<number> {
  const { config, logger } = ctx;
  const { stdin, stdout } = io;
  if (stdout.isTTY !== true) {
    io.stderr.write('goverse-top: the console needs a terminal on stdout; for scripts use `goverse-top status`, `watch` or `-o json`\n');
    return 2;
  }
  const readOnlyReason = config.readOnly ? '--read-only' : stdin.isTTY !== true ? 'stdin is not a terminal' : null;
  // The screen is taken at once with a word of what is happening: loading Ink and the etcd client can take seconds
  // on a loaded machine, and both load in parallel.
  const terminal = enterTerminal(stdout, logger);
  stdout.write(`goverse-top: connecting to ${config.etcdEndpoints.join(', ')}…\u001b[H`);
  let client: EtcdClient | undefined;
  let watcher: ClusterWatcher | undefined;
  let feed: HistoryFeed | undefined;
  let controller: ConsoleController | undefined;
  let scrapes: { stop(): Promise<void> } | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let app: { unmount(): void } | undefined;
  let refused: ConfigError | null = null;
  let quit: () => void = () => {};
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  const onSignal = (): void => quit();
  for (const s of SIGNALS) process.on(s, onSignal);
  // The console must outlive any stray rejection of a library; it is logged, never shown.
  const onRejection = (err: unknown): void => logger.error('unhandled rejection in the console', { err });
  process.on('unhandledRejection', onRejection);
  const onResize = (): void => controller?.setSize(stdout.columns, stdout.rows);
  stdout.on('resize', onResize);

  // Whatever fails below (a bad TLS file, say), the terminal is given back before the error is reported.
  try {
    const inkLoaded = loadUi();
    client = createEtcdClient(etcdOptionsFromConfig(config, logger));
    watcher = new ClusterWatcher({ client, keys: ctx.keys, numShards: config.numShards, coalesceMs: WATCH_COALESCE_MS, logger });
    const ctl = new ConsoleController({
      snapshot: emptySnapshot(ctx.keys.prefix, config.numShards),
      endpoints: config.etcdEndpoints,
      stuckTimeoutMs: config.stuckTimeout,
      balancer: { strategy: config.rebalanceStrategy, settings: plannerSettingsFromConfig(config) },
      theme: createTheme(wantsColor(config.noColor, true)),
      clock: systemClock,
      writer: readOnlyReason === null ? operations(ctx, client) : null,
      readOnlyReason,
      readsKeys: stdin.isTTY === true,
      by: ctx.actor,
      maxPauseMs: config.maxPause,
      size: { cols: stdout.columns, rows: stdout.rows },
      maxFps: MAX_FPS,
      onQuit: () => quit(),
      onCopy: (text) => copyToClipboard(stdout, text),
      logger,
    });
    controller = ctl;
    watcher.subscribe(watcherFeed(ctl, ctx.shardCount, (err) => ((refused = err), quit())));
    // start() settles on the first load or on stop; until then the header shows the connection's state.
    watcher.start().catch(() => undefined);
    (feed = new HistoryFeed({ client, keys: ctx.keys, logger, onUpdate: (update) => ctl.onHistory(update) })).start().catch(() => undefined);
    scrapes = startMetrics(config, ctl, logger);
    const heap = new HeapGuard();
    ticker = setInterval(() => (ctl.tick(), heap.check()), 1000);
    const ink = await inkLoaded;
    app = ink.render(ink.element(ctl), { stdout, stdin, stderr: io.stderr, exitOnCtrlC: false, patchConsole: false, maxFps: MAX_FPS.input });
    await quitting;
  } finally {
    // Stop input and timers, unmount (Ink's last frame lands on the alternate screen), give the terminal back, and
    // only then wait for the connections to close.
    clearInterval(ticker);
    controller?.stop();
    app?.unmount();
    stdout.off('resize', onResize);
    terminal.restore();
    for (const s of SIGNALS) process.off(s, onSignal);
    await closeConnections(Promise.all([scrapes?.stop(), watcher?.stop(), feed?.stop()]).then(() => client?.close()), logger);
    process.off('unhandledRejection', onRejection);
  }
  if (refused !== null) throw refused;
  return 0;
}

/**
 * The nodes' metrics for the console: read through Prometheus with `--prometheus-url` (its state in the header), else
 * scraped node by node. A node that does not answer within the interval is reported unreachable, not waited for.
 */
function startMetrics(config: GoverseConfig, ctl: ConsoleController, logger: Logger): { stop(): Promise<void> } {
  const sources = parseMetricsSources(config.metricsUrl, config.configNodes);
  const timeoutMs = Math.min(config.refresh, config.etcdTimeout);
  if (config.prometheusUrl !== '') {
    const url = config.prometheusUrl;
    ctl.setMetricsSource({ kind: 'prometheus', url, state: { kind: 'connecting' } });
    const poller = new PrometheusPoller({
      url,
      sources,
      snapshot: () => ctl.latestSnapshot,
      refreshMs: config.refresh,
      timeoutMs: config.etcdTimeout,
      publish: (metrics, state) => {
        if (state.kind === 'failing') logger.warn('prometheus refresh failed', { url, reason: state.reason });
        ctl.setMetricsSource({ kind: 'prometheus', url, state });
        if (metrics !== null) ctl.setMetrics(metrics);
      },
    });
    poller.start();
    return poller;
  }
  const scheduler = new ScrapeScheduler({
    sources,
    snapshot: () => ctl.latestSnapshot,
    intervalMs: config.refresh,
    timeoutMs,
    publish: (u) => ctl.setMetrics(u.metrics, u.unmatched, u.changed),
    logger,
  });
  scheduler.start();
  return scheduler;
}

/** The console's writes, recorded in the cluster history as its operator's. */
function operations(ctx: ConsoleContext, client: EtcdClient): ClusterOperations {
  const { keys, config, logger } = ctx;
  const log = new HistoryLog({ client, keys, bounds: historyBoundsFromConfig(config), clock: systemClock, logger });
  return new ClusterOperations({
    client,
    keys,
    stuckTimeoutMs: config.stuckTimeout,
    retry: shardWriteRetryFromConfig(config),
    logger,
    history: { log, who: { actor: ctx.actor, source: 'console' } },
  });
}

/** Waits for `closing`, bounded: a quit must never hang on an etcd or a node that stopped answering. */
async function closeConnections(closing: Promise<unknown>, logger: Logger): Promise<void> {
  const grace = new AbortController();
  const closed = await Promise.race([closing.then(() => true, () => true), sleep(CLOSE_GRACE_MS, grace.signal).then(() => false)]);
  grace.abort();
  if (!closed) logger.warn('connections did not close in time; quitting anyway', { graceMs: CLOSE_GRACE_MS });
}

/** Ink and React, patched (inkPatches), and the console's App. */
async function loadUi() {
  const { render, createElement } = await loadInk();
  const { App } = await import('./ui/App.js');
  return { render, element: (controller: ConsoleController) => createElement(App, { controller }) };
}
