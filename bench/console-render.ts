/**
 * `npm run bench -- console-render [--shards N] [--nodes M] [--seconds N] [--cols C] [--rows R] [--storm-cols C]
 * [--storm-rows R]`: the interactive console on a cluster of N shards (default 8192) and M nodes (default 100): nodeinfo, load records, a leader's balancer
 * status with recent decisions, 1,000 history entries, pinned, migrating and stuck shards, synthetic /metrics of every
 * node with per-shard objects and calls, lock histograms and hot shards.
 *
 *   frames    in process: the real controller, data model, frame builder and Ink renderer writing to a fake terminal
 *             of C x R (default 80x24, the size the console must work at). Each frame follows a batch of 10 shard
 *             changes, so the view model is rebuilt every time; a frame is timed from its start to Ink's output
 *             (build + React commit + Ink layout and render). Wall time is the result; CPU time per frame and the
 *             split between build and render are printed too, since a loaded machine inflates wall time. The build
 *             of the rebalance pane (the history timeline, 1,000 entries) is timed apart.
 *   storm     end to end: the built binary (`npm run build` first) in a real terminal (tmux, default 120x40: wide
 *             enough for the header to keep its metrics figure, which it gives up first at 80 columns once all is
 *             well, and which the bench watches for) against a real etcd holding that cluster, its nodes' /metrics served locally, while 1000 shard updates per second (a
 *             transaction of 10 every 10 ms: half start a migration, half complete the oldest) go into etcd for N
 *             seconds. The console process's CPU over the storm as a share of one core, its peak resident memory,
 *             the time from its start to the first full view (the cluster and every node's metrics on screen), and
 *             how long after the storm it shows etcd's last revision. The nodes' /metrics are served by the bench on
 *             loopback and found through a --metrics-url template (one URL per node).
 *   --frames-only, --storm-only   one half (the other's keys are null).
 *   --node-flags F  node flags for the console process of the storm, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p" for a
 *                   CPU profile written when it quits, or "--trace-gc" (its output goes to the tmux pane's screen).
 * Last line: {"shards", "nodes", "frameP50Ms", "frameP99Ms", "stormCpuPercent", "rssMb", "firstViewS", "catchUpMs"}.
 * Targets: p99 < 16 ms; at 8192 x 100 CPU < 25 % and RSS < 200 MB; at 65,536 x 1,000 CPU < 50 %, RSS < 400 MB, first
 * view within 10 s, caught up within 2 s.
 */
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { nullLogger } from '../src/core/log/logger.js';
import { encodeRecord } from '../src/core/keyspace/records.js';
import { parsePrometheusText } from '../src/core/metrics/textFormat.js';
import { DEFAULT_MAX_PAUSE_MS } from '../src/core/operations/operations.js';
import { defaultPlannerSettings } from '../src/core/planner/settings.js';
import { Sightings } from '../src/core/planner/sightings.js';
import { applyEvents, buildSnapshot, type ClusterSnapshot, type Kv, type KvEvent } from '../src/core/snapshot/snapshot.js';
import { buildClusterView, type NodeMetrics, summarizeScrape } from '../src/core/view/index.js';
import { CONSOLE_HISTORY_LIMIT, ConsoleController } from '../src/console/controller.js';
import { encodeHistoryEntry, historyId } from '../src/core/history/entry.js';
import { HistoryTimeline } from '../src/core/history/timeline.js';
import { Keyspace } from '../src/core/keyspace/keys.js';
import { loadInk } from '../src/console/inkPatches/index.js';
import type { FrameTimer } from '../src/console/frameScheduler.js';
import { buildFrame } from '../src/console/model/frame.js';
import { initialUi } from '../src/console/model/ui.js';
import { createTheme } from '../src/console/theme.js';
import { createEtcdClient, type EtcdClient, MAX_TXN_OPS } from '../src/edge/etcd/client.js';
import { startEtcd } from '../test/harness/etcd.js';
import { waitFor } from '../test/harness/waitFor.js';
import { TmuxTerminal } from '../test/e2e/tmux.js';
import { integerOption } from './_options.js';

/** The cluster's size. */
interface Scale {
  readonly shards: number;
  readonly nodes: number;
}

const P = '/goverse';
const BIN = fileURLToPath(new URL('../bin/goverse-top.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../dist/console/main.js', import.meta.url));
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const address = (i: number): string => `10.0.${Math.floor(i / 200)}.${i % 200}:7000`;

/** The cluster as etcd holds it, and the writes of a storm against it. */
class SyntheticCluster {
  private revision = 1;
  /** Every key at the start, as a range read returns them. */
  readonly kvs: Kv[] = [];
  snapshot: ClusterSnapshot;
  readonly now = Date.now();
  /** Shards moving, oldest first: a storm starts migrations and completes the oldest, so as many are in flight. */
  private readonly moving: number[] = [];

  constructor(readonly scale: Scale) {
    const { shards: numShards, nodes: numNodes } = scale;
    const kv = (key: string, value: string, lease = '0'): void => {
      this.kvs.push({ key, value, modRevision: this.revision, createRevision: this.revision++, lease });
    };
    for (let i = 0; i < numNodes; i++) {
      const a = address(i);
      kv(`${P}/nodes/${a}`, a, '7');
      kv(
        `${P}/nodeinfo/${a}`,
        encodeRecord({ nodeId: `node-${i}`, opsUrl: '', apiUrl: `http://${a}`, version: '0.1.0', weight: 1, startedAt: this.now - 3_600_000, state: 'running' }),
        '7',
      );
    }
    const perNode = new Map<number, [number, number, number][]>();
    for (let id = 0; id < numShards; id++) {
      const owner = id % numNodes;
      const current = address(owner);
      // A few hundred shards in migration (a third of them stuck for minutes), a few dozen pinned.
      const migrating = id % 37 === 0;
      const target = migrating ? address((owner + 1) % numNodes) : current;
      kv(`${P}/shard/${id}`, `${target},${current}${id % 211 === 0 ? ',f=pinned' : ''}`);
      if (migrating) kv(`${P}/migration/${id}`, encodeRecord({ since: this.now - (id % 3 === 0 ? 300_000 : 5_000), target, from: current }));
      let list = perNode.get(owner);
      if (list === undefined) perNode.set(owner, (list = []));
      list.push([id, (id * 7919) % 500, ((id * 104_729) % 1000) / 10]);
    }
    for (const [owner, shards] of perNode) {
      kv(`${P}/load/${address(owner)}`, encodeRecord({ at: this.now, cpu: 0.4, rssBytes: 200e6, shards, truncated: 0 }), '7');
    }
    kv(`${P}/leader`, address(0));
    const recent = Array.from({ length: 20 }, (_, i) => ({
      at: this.now - i * 30_000,
      strategy: 'count',
      outcome: 'rebalance',
      reason: `move 64 shards from the fullest to the emptiest nodes (round ${20 - i})`,
      moves: Array.from({ length: 50 }, (__, m) => ({ shard: i * 50 + m, from: address(m % numNodes), to: address((m + 1) % numNodes) })),
    }));
    kv(
      `${P}/rebalance/status`,
      encodeRecord({ leader: address(0), strategy: 'count', state: 'acting', reason: 'rebalancing: spread 40 shards', at: this.now, recent }),
      '7',
    );
    // As many history entries as the console keeps: rebalance rounds of 50 moves each, a minute apart.
    for (let i = 0; i < CONSOLE_HISTORY_LIMIT; i++) {
      const at = this.now - (CONSOLE_HISTORY_LIMIT - i) * 60_000;
      const moves = Array.from({ length: 50 }, (_, m) => ({ shard: (i * 50 + m) % numShards, from: address(m % numNodes), to: address((m + i) % numNodes) }));
      const draft = { at, actor: address(0), source: 'leader' as const, action: 'rebalance' as const, moves, reason: `move 50 shards (round ${i})`, outcome: 'written' };
      kv(`${P}/history/${historyId(at, `b${i}`)}`, encodeHistoryEntry(draft));
    }
    this.snapshot = buildSnapshot(P, numShards, this.kvs, this.revision);
  }

  /**
   * `count` shard puts, as a rebalancing wave writes them: half start a migration (a stable shard retargeted to the
   * next node), half complete the oldest one in flight (the target claims it). Applied to the mirror snapshot.
   */
  storm(count: number, seq: number): { events: KvEvent[]; snapshot: ClusterSnapshot; changes: ReturnType<typeof applyEvents>['changes'] } {
    const { shards: numShards, nodes: numNodes } = this.scale;
    const events: KvEvent[] = [];
    // One write per key per batch: etcd refuses a transaction that names a key twice.
    const touched = new Set<number>();
    const put = (id: number, value: string): void => {
      touched.add(id);
      events.push({ type: 'put', kv: { key: `${P}/shard/${id}`, value, modRevision: this.revision++, createRevision: 1, lease: '0' } });
    };
    for (let k = 0; k < count; k++) {
      const oldest = this.moving[0];
      if (k % 2 === 1 && oldest !== undefined && !touched.has(oldest)) {
        this.moving.shift();
        const e = this.snapshot.shards[oldest]!;
        put(oldest, `${e.target},${e.target}`);
        continue;
      }
      let id = ((seq * count + k) * 2654435761) % numShards;
      while (touched.has(id) || this.snapshot.shards[id]!.target !== this.snapshot.shards[id]!.current) id = (id + 1) % numShards;
      const e = this.snapshot.shards[id]!;
      const [, third, fourth] = /^10\.0\.(\d+)\.(\d+):/.exec(e.current)!;
      put(id, `${address((Number(third) * 200 + Number(fourth) + 1) % numNodes)},${e.current}`);
      this.moving.push(id);
    }
    const result = applyEvents(this.snapshot, events, this.revision - 1);
    this.snapshot = result.snapshot;
    return { events, ...result };
  }
}

/** The /metrics text of one node: per-shard objects and calls, lock histogram, hot shards; `scale` grows counters. */
function metricsText(size: Scale, node: number, scale: number): string {
  const { shards: numShards, nodes: numNodes } = size;
  const a = address(node);
  const lines: string[] = [];
  lines.push('# TYPE goverse_node_ready gauge', 'goverse_node_ready 1');
  lines.push('# TYPE goverse_objects_total gauge');
  for (let id = node; id < numShards; id += numNodes) lines.push(`goverse_objects_total{node="${a}",type="Counter",shard="${id}"} ${(id * 7919) % 500}`);
  lines.push('# TYPE goverse_method_calls_total counter');
  lines.push(`goverse_method_calls_total{node="${a}",object_type="Counter",method_name="Add",status="success"} ${1000 * scale}`);
  lines.push('# TYPE goverse_shard_method_calls_total counter');
  for (let id = node; id < numShards; id += numNodes) lines.push(`goverse_shard_method_calls_total{shard="${id}"} ${((id * 104_729) % 1000) * scale}`);
  lines.push('# TYPE goverse_shard_lock_acquisitions_total counter');
  lines.push(`goverse_shard_lock_acquisitions_total{mode="read"} ${5000 * scale}`, `goverse_shard_lock_acquisitions_total{mode="write"} ${50 * scale}`);
  lines.push('# TYPE goverse_shard_lock_wait_seconds histogram');
  let cum = 0;
  for (const [le, n] of [['0.0001', 4000], ['0.001', 800], ['0.01', 150], ['0.1', 45], ['1', 5], ['+Inf', 0]] as const) {
    cum += n * scale;
    lines.push(`goverse_shard_lock_wait_seconds_bucket{mode="read",le="${le}"} ${cum}`);
  }
  lines.push(`goverse_shard_lock_wait_seconds_sum{mode="read"} ${2 * scale}`, `goverse_shard_lock_wait_seconds_count{mode="read"} ${cum}`);
  lines.push('# TYPE goverse_shard_write_locks_held gauge', `goverse_shard_write_locks_held ${node % 3}`);
  lines.push('# TYPE goverse_shard_lock_timeouts_total counter', `goverse_shard_lock_timeouts_total{mode="read"} ${node % 5 === 0 ? scale : 0}`);
  lines.push('# TYPE goverse_shard_lock_contended gauge');
  for (let h = 0; h < 5; h++) {
    const id = node + h * numNodes;
    for (const [stat, v] of [['waits', 10 + h], ['wait_seconds', 0.5 / (h + 1)], ['max_wait_seconds', 0.1], ['timeouts', h === 0 ? 1 : 0]] as const) {
      lines.push(`goverse_shard_lock_contended{shard="${id}",stat="${stat}"} ${v}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Every node scraped twice (so rates exist), summarized as the scraper does. */
function syntheticMetrics(size: Scale, now: number): Map<string, NodeMetrics> {
  const out = new Map<string, NodeMetrics>();
  for (let i = 0; i < size.nodes; i++) {
    const url = `http://${address(i)}/metrics`;
    const first = summarizeScrape({ kind: 'ok', url, atMs: now - 2000, families: parsePrometheusText(metricsText(size, i, 1)) });
    out.set(address(i), summarizeScrape({ kind: 'ok', url, atMs: now, families: parsePrometheusText(metricsText(size, i, 2)) }, first));
  }
  return out;
}

/** A terminal for Ink: a TTY of a fixed size that counts what it is sent. */
class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  bytes = 0;
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    this.bytes += chunk.length;
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }
}

/** Frames run when the bench says, so each one can be timed from start to Ink's output. */
class SteppedTimer implements FrameTimer {
  private pending: (() => void) | null = null;
  now(): number {
    return performance.now() + 1e9;
  }
  set(fn: () => void): unknown {
    this.pending = fn;
    return 1;
  }
  clear(): void {
    this.pending = null;
  }
  run(): boolean {
    const fn = this.pending;
    this.pending = null;
    fn?.();
    return fn !== null;
  }
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Ink and React as the console loads them (inkPatches: environment and fast paths), and the app. */
async function loadUi() {
  const { render, createElement } = await loadInk();
  const { App } = await import('../src/console/ui/App.js');
  return { render, createElement, App };
}

type Ui = Awaited<ReturnType<typeof loadUi>>;

function mount(ui: Ui, cluster: SyntheticCluster, metrics: Map<string, NodeMetrics>, cols: number, rows: number, timer: FrameTimer) {
  const { render, createElement, App } = ui;
  const terminal = new FakeTerminal(cols, rows);
  let renders = 0;
  let renderedAt = 0;
  const inkMs: number[] = [];
  const controller = new ConsoleController({
    snapshot: cluster.snapshot,
    endpoints: ['127.0.0.1:2379'],
    stuckTimeoutMs: 60_000,
    balancer: { strategy: 'count', settings: defaultPlannerSettings(cluster.scale.shards) },
    theme: createTheme(true),
    clock: { now: () => Date.now(), monotonic: () => performance.now() },
    writer: null,
    readOnlyReason: null,
    by: 'bench@localhost',
    maxPauseMs: DEFAULT_MAX_PAUSE_MS,
    size: { cols, rows },
    maxFps: { data: 5, input: 20 },
    onQuit: () => {},
    logger: nullLogger,
    timer,
  });
  controller.onWatcherEvent({ type: 'status', status: { kind: 'synced', revision: cluster.snapshot.revision, since: Date.now() } });
  controller.setMetrics(metrics);
  controller.onHistory({ kind: 'reset', kvs: cluster.kvs.filter((k) => k.key.startsWith(`${P}/history/`)) });
  const stdin = Object.assign(new EventEmitter(), { isTTY: false, setEncoding() {}, resume() {}, pause() {}, ref() {}, unref() {}, read: () => null });
  const app = render(createElement(App, { controller }), {
    stdout: terminal as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    stderr: terminal as unknown as NodeJS.WriteStream,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 20,
    onRender: ({ renderTime }) => {
      renders++;
      renderedAt = performance.now();
      inkMs.push(renderTime);
    },
  });
  return { controller, app, terminal, renders: () => renders, renderedAt: () => renderedAt, inkMs };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const scale: Scale = { shards: integerOption(args, '--shards', 8192), nodes: integerOption(args, '--nodes', 100) };
  if (scale.nodes > 1000 || scale.shards < scale.nodes * 8) throw new Error('--nodes: at most 1000, and at least 8 shards per node');
  const seconds = integerOption(args, '--seconds', 10);
  const cols = integerOption(args, '--cols', 80);
  const rows = integerOption(args, '--rows', 24);
  const stormSize = { cols: integerOption(args, '--storm-cols', 120), rows: integerOption(args, '--storm-rows', 40) };
  const i = args.indexOf('--node-flags');
  const nodeFlags = i >= 0 ? (args[i + 1] ?? '') : '';
  const only = args.includes('--frames-only') ? 'frames' : args.includes('--storm-only') ? 'storm' : null;
  log(`cluster: ${scale.shards} shards, ${scale.nodes} nodes; frames on a ${cols}x${rows} terminal, the storm on ${stormSize.cols}x${stormSize.rows}`);
  const frames = only === 'storm' ? null : await measureFrames(scale, cols, rows);
  const storm = only === 'frames' ? null : await measureStorm(scale, seconds, stormSize.cols, stormSize.rows, nodeFlags);
  return {
    shards: scale.shards,
    nodes: scale.nodes,
    frameP50Ms: frames && round(frames.p50),
    frameP99Ms: frames && round(frames.p99),
    stormCpuPercent: storm && round(storm.cpuPercent),
    rssMb: storm && round(storm.rssMb),
    firstViewS: storm && round(storm.firstViewMs / 1000),
    catchUpMs: storm && Math.round(storm.catchUpMs),
  };
}

async function measureFrames(scale: Scale, cols: number, rows: number): Promise<{ p50: number; p99: number }> {
  const ui = await loadUi();
  const cluster = new SyntheticCluster(scale);
  const metrics = syntheticMetrics(scale, cluster.now);

  // The build alone (the pure half of a frame): data model from the previous view, then the composed screen.
  const theme = createTheme(true);
  const uiState = initialUi({ readOnly: false });
  const connection = { endpoints: ['127.0.0.1:2379'], status: { kind: 'synced', revision: 1, since: Date.now() } as const, reconnects: 0 };
  const balancer = { strategy: 'count' as const, settings: defaultPlannerSettings(scale.shards) };
  // First sightings and the changed shards and nodes, as the console's controller keeps them from the watch.
  const sightings = new Sightings();
  sightings.restart(cluster.snapshot, Date.now());
  const input = { stuckTimeoutMs: 60_000, balancer, metrics, firstSeen: sightings.firstSeen };
  let view = buildClusterView({ ...input, snapshot: cluster.snapshot, now: Date.now() });
  const timeline = new HistoryTimeline(new Keyspace(P), CONSOLE_HISTORY_LIMIT);
  timeline.apply({ kind: 'reset', kvs: cluster.kvs.filter((k) => k.key.startsWith(`${P}/history/`)) });
  const history = { entries: timeline.entries, malformed: 0 };
  const rebalanceUi = { ...uiState, focus: 'rebalance' as const };
  const viewMs: number[] = [];
  const composeMs: number[] = [];
  const timelineMs: number[] = [];
  for (let i = 0; i < 250; i++) {
    const { changes } = cluster.storm(10, i);
    sightings.observe(changes, Date.now());
    const changedShards = changes.flatMap((c) => (c.kind === 'shard' ? [c.id] : []));
    const t0 = performance.now();
    view = buildClusterView({ ...input, snapshot: cluster.snapshot, now: Date.now(), previous: view, changedShards, changedNodes: [] });
    const t1 = performance.now();
    buildFrame({ view, connection, ui: uiState, cols, rows, theme, history, readOnlyReason: null });
    const t2 = performance.now();
    buildFrame({ view, connection, ui: rebalanceUi, cols, rows, theme, history, readOnlyReason: null });
    const t3 = performance.now();
    if (i >= 50) {
      viewMs.push(t1 - t0);
      composeMs.push(t2 - t1);
      timelineMs.push(t3 - t2);
    }
  }
  log(`  build: view model ${stats(viewMs)}; screen ${stats(composeMs)}; rebalance pane with ${history.entries.length} history entries ${stats(timelineMs)}`);

  const stepped = new SteppedTimer();
  const m = mount(ui, cluster, metrics, cols, rows, stepped);
  const wall: number[] = [];
  const cpu: number[] = [];
  // GC pauses inside frames: a loaded machine's tail is often a collection, of the bench's own garbage too.
  const pauses: [number, number][] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push([e.startTime, e.startTime + e.duration]);
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const windows: [number, number][] = [];
  for (let i = 0; i < 300; i++) {
    const { snapshot, changes } = cluster.storm(10, 1000 + i);
    m.controller.onWatcherEvent({ type: 'snapshot', snapshot, changes, cause: 'watch' });
    const before = m.renders();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    stepped.run();
    // React commits the store update in a microtask and Ink renders in the commit, unless its own rate cap holds the
    // render back to the end of its window: wait for the render either way, it ends the frame.
    const deadline = performance.now() + 2000;
    while (m.renders() === before) {
      if (performance.now() > deadline) throw new Error('Ink did not render the frame');
      await new Promise((r) => setImmediate(r));
    }
    const used = process.cpuUsage(cpu0);
    // The first frames warm up the JIT.
    if (i >= 50) {
      wall.push(m.renderedAt() - t0);
      cpu.push((used.user + used.system) / 1000);
      windows.push([t0, m.renderedAt()]);
    }
    // Let Ink's throttle window pass, as the capped frame rate would.
    await new Promise((r) => setTimeout(r, 55));
  }
  m.controller.stop();
  m.app.unmount();
  for (const e of gcObserver.takeRecords()) pauses.push([e.startTime, e.startTime + e.duration]);
  gcObserver.disconnect();
  const gcInFrame = windows.map(([a, b]) => pauses.reduce((sum, [s, e]) => sum + Math.max(0, Math.min(b, e) - Math.max(a, s)), 0));
  log(`  frames: wall ${stats(wall)}; CPU ${stats(cpu)}; of which Ink's output ${stats(m.inkMs.slice(50))}`);
  log(`  GC pauses in frames (${pauses.length} collections): ${gcInFrame.filter((g) => g > 0).length} of ${windows.length} frames, ${stats(gcInFrame)}`);
  const sorted = [...wall].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

interface StormFigures {
  readonly cpuPercent: number;
  readonly rssMb: number;
  readonly firstViewMs: number;
  readonly catchUpMs: number;
}

async function measureStorm(scale: Scale, seconds: number, cols: number, rows: number, nodeFlags: string): Promise<StormFigures> {
  if (!existsSync(BUILT)) throw new Error('dist/ is missing: run `npm run build` before this benchmark');
  const etcd = await startEtcd('bench-console');
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const hosts = new Map(Array.from({ length: scale.nodes }, (_, i) => [address(i).split(':')[0]!, i]));
  let counterScale = 1;
  const server = createServer((req, res) => {
    const node = hosts.get(/^\/n\/([\d.]+)\/metrics$/.exec(req.url ?? '')?.[1] ?? '');
    if (node === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsText(scale, node, counterScale++));
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  const cluster = new SyntheticCluster(scale);
  let term: TmuxTerminal | null = null;
  try {
    await seed(client, cluster.kvs);
    term = await TmuxTerminal.start('bench-console');
    // The synthetic nodes' addresses are not this machine's: their /metrics are found through a template instead.
    const env = [
      `GOVERSE_ETCD_ENDPOINTS=${etcd.endpoints.join(',')}`,
      `GOVERSE_ETCD_PREFIX=${P}`,
      `GOVERSE_NUM_SHARDS=${scale.shards}`,
      `GOVERSE_METRICS_URL=http://127.0.0.1:${port}/n/{host}/metrics`,
    ].join(' ');
    const opened = performance.now();
    await term.open('console', `exec env -u CI -u NO_COLOR ${env} ${process.execPath} ${nodeFlags} ${BIN} top`, cols, rows);
    const pid = await term.pid('console');
    const t = term;
    const full = new RegExp(`metrics ${scale.nodes}/${scale.nodes}(?! \\()`);
    let screen = '';
    await waitFor("the console to show the cluster and every node's metrics", async () => full.test((screen = await t.screen('console'))), {
      timeoutMs: 60_000,
      intervalMs: 50,
      describe: () => screen,
    });
    const firstViewMs = performance.now() - opened;
    log(`  first full view ${(firstViewMs / 1000).toFixed(2)} s after the console started`);
    // Settle: the first scrapes and rebuilds are start-up, not storm.
    await new Promise((r) => setTimeout(r, 2000));
    let peakRss = rssMb(pid);
    // The storm's first seconds are the JIT's: V8 compiles the code the storm makes hot (etcd watch decoding, the
    // parser, the view), about 5 % of a core on its compiler threads, which a console running for hours pays once.
    // They are storm like the rest but measured apart, as the frames' first 50 are left out above.
    const marks: { at: number; cpu: number; threads: Map<string, number> }[] = [];
    const mark = (): void => void marks.push({ at: performance.now(), cpu: cpuTicks(pid), threads: threadTicks(pid) });
    mark();
    const wall0 = marks[0]!.at;
    let batches = 0;
    await new Promise<void>((resolve, reject) => {
      const warmEnd = wall0 + STORM_WARMUP_MS;
      const end = warmEnd + seconds * 1000;
      const step = async (): Promise<void> => {
        // Catch up when a timer fires late, so the rate stays 1000 updates per second.
        const due = Math.floor((performance.now() - wall0) / 10);
        const writes: Promise<unknown>[] = [];
        while (batches < due) {
          const { events } = cluster.storm(10, batches++);
          writes.push(client.txn({ compares: [], success: events.map((e) => (e.type === 'put' ? { type: 'put' as const, key: e.kv.key, value: e.kv.value } : { type: 'delete' as const, key: e.key })) }));
        }
        await Promise.all(writes);
        peakRss = Math.max(peakRss, rssMb(pid));
        if (marks.length === 1 && performance.now() >= warmEnd) mark();
        if (performance.now() >= end) resolve();
        else setTimeout(() => void step().catch(reject), 10);
      };
      void step().catch(reject);
    });
    mark();
    const [start, steady, stop] = marks as [(typeof marks)[0], (typeof marks)[0], (typeof marks)[0]];
    const share = (ticks: number, from: (typeof marks)[0], to: (typeof marks)[0]): number =>
      (ticks * (1000 / CLOCK_TICKS_PER_SECOND) * 100) / (to.at - from.at);
    const warmPercent = share(steady.cpu - start.cpu, start, steady);
    const cpuPercent = share(stop.cpu - steady.cpu, steady, stop);
    const split = [...stop.threads]
      .map(([name, t]) => [name, share(t - (steady.threads.get(name) ?? 0), steady, stop)] as const)
      .filter(([, v]) => v >= 0.5);
    const wholePercent = share(stop.cpu - start.cpu, start, stop);
    log(`  console CPU: ${wholePercent.toFixed(1)} % over the whole storm, ${warmPercent.toFixed(1)} % over its first ${STORM_WARMUP_MS / 1000} s (JIT warm-up), then by thread: ${split.map(([name, v]) => `${name} ${v.toFixed(1)} %`).join(', ')}`);
    const wall = stop.at - steady.at;
    const last = (await client.rangePrefix(`${P}/shard/`)).revision;
    // The console keeps up: it shows the last revision soon after the storm.
    let shown = '';
    await waitFor(`the console to catch up with revision ${last}`, async () => {
      const rev = /rev (\d+)/.exec((shown = await t.screen('console')))?.[1];
      return rev !== undefined && Number(rev) >= last;
    }, { timeoutMs: 10_000, intervalMs: 20 });
    const catchUpMs = performance.now() - stop.at;
    // Every node's figures still current after the storm: the header counts stale ones (`(K stale)`).
    const metricsField = /metrics \d+\/\d+(?: \([^)]*\))?/.exec(shown)?.[0] ?? 'metrics not shown';
    log(`storm: ${batches * 10} shard updates in ${((stop.at - start.at) / 1000).toFixed(1)} s; over the last ${(wall / 1000).toFixed(1)} s console CPU ${cpuPercent.toFixed(1)} % of one core, peak RSS ${peakRss.toFixed(0)} MB, revision ${last} shown ${catchUpMs.toFixed(0)} ms after the storm, with ${metricsField}`);
    return { cpuPercent, rssMb: peakRss, firstViewMs, catchUpMs };
  } finally {
    await term?.close();
    server.close();
    await client.close();
    await etcd.close();
  }
}

/** Writes the starting keys, in transactions within etcd's op limit; leased keys under one lease that outlives the run. */
async function seed(client: EtcdClient, kvs: readonly Kv[]): Promise<void> {
  const { id: lease } = await client.grantLease(3600);
  for (let i = 0; i < kvs.length; i += MAX_TXN_OPS) {
    const ops = kvs
      .slice(i, i + MAX_TXN_OPS)
      .map((kv) => ({ type: 'put' as const, key: kv.key, value: kv.value, ...(kv.lease === '0' ? {} : { lease }) }));
    await client.txn({ compares: [], success: ops });
  }
}

/** USER_HZ: /proc reports CPU time in these (100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;
const STORM_WARMUP_MS = 5000;

/** utime + stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU ticks per thread name (node's main thread, V8's GC and compiler workers, libuv's pool), for the log. */
function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const name = task === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[\d]+$/, '');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}

function stats(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 0.5).toFixed(2)} ms p99 ${percentile(sorted, 0.99).toFixed(2)} ms`;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
