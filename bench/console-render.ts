/**
 * `npm run bench -- console-render [--seconds N] [--cols C] [--rows R]`: the interactive console at scale, in
 * process, with the real controller, data model, frame builder and Ink renderer writing to a fake terminal.
 *
 *   cluster   8192 shards over 100 nodes (nodeinfo, load records, a leader's balancer status with recent
 *             decisions, pinned, migrating and stuck shards) and synthetic /metrics of every node (per-shard
 *             objects and calls, lock histograms, hot shards) summarized as the scraper does.
 *   frames    each frame follows a batch of shard changes, so the view model is rebuilt every time: time from the
 *             frame's start to Ink's output written (build + React commit + Ink layout and render), p50 and p99,
 *             for the shard map (focused) with the node table under it on a 200x60 terminal.
 *   storm     1000 shard updates per second (10 every 10 ms, as watch batches) for N seconds while the console
 *             runs at its capped frame rate; CPU of the whole process over the storm as a share of one core.
 * Last line: {"frameP50Ms", "frameP99Ms", "stormCpuPercent", "rssMb"}; targets p99 < 16 ms, CPU < 25 %, RSS < 200 MB.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { nullLogger } from '../src/core/log/logger.js';
import { encodeRecord } from '../src/core/keyspace/records.js';
import { parsePrometheusText } from '../src/core/metrics/textFormat.js';
import { defaultPlannerSettings } from '../src/core/planner/settings.js';
import { applyEvents, buildSnapshot, type ClusterSnapshot, type Kv, type KvEvent } from '../src/core/snapshot/snapshot.js';
import { buildClusterView, type NodeMetrics, summarizeScrape } from '../src/core/view/index.js';
import { ConsoleController } from '../src/console/controller.js';
import { type FrameTimer, realFrameTimer } from '../src/console/frameScheduler.js';
import { buildFrame } from '../src/console/model/frame.js';
import { initialUi } from '../src/console/model/ui.js';
import { createTheme } from '../src/console/theme.js';

const SHARDS = 8192;
const NODES = 100;
const P = '/goverse';
const log = (line: string): void => void process.stderr.write(`${line}\n`);

function arg(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
}

const address = (i: number): string => `10.0.${Math.floor(i / 200)}.${i % 200}:7000`;

/** The cluster as etcd would hold it, with a revision counter for the storm's events. */
class SyntheticCluster {
  private revision = 1;
  snapshot: ClusterSnapshot;
  readonly now = Date.now();

  constructor() {
    const kvs: Kv[] = [];
    const kv = (key: string, value: string, lease = '0'): void => {
      kvs.push({ key, value, modRevision: this.revision, createRevision: this.revision++, lease });
    };
    for (let i = 0; i < NODES; i++) {
      const a = address(i);
      kv(`${P}/nodes/${a}`, a, '7');
      kv(
        `${P}/nodeinfo/${a}`,
        encodeRecord({ nodeId: `node-${i}`, opsUrl: `http://${a.replace(':7000', ':9100')}`, apiUrl: `http://${a}`, version: '0.1.0', weight: 1, startedAt: this.now - 3_600_000, state: 'running' }),
        '7',
      );
    }
    const perNode = new Map<number, [number, number, number][]>();
    for (let id = 0; id < SHARDS; id++) {
      const owner = id % NODES;
      const current = address(owner);
      // A few hundred shards in migration (a third of them stuck for minutes), a few dozen pinned.
      const migrating = id % 37 === 0;
      const target = migrating ? address((owner + 1) % NODES) : current;
      const flags = id % 211 === 0 ? ',f=pinned' : '';
      kv(`${P}/shard/${id}`, `${target},${current}${flags}`);
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
      moves: Array.from({ length: 50 }, (__, m) => ({ shard: i * 50 + m, from: address(m % NODES), to: address((m + 1) % NODES) })),
    }));
    kv(
      `${P}/rebalance/status`,
      encodeRecord({ leader: address(0), strategy: 'count', state: 'acting', reason: 'rebalancing: spread 40 shards', at: this.now, recent }),
      '7',
    );
    this.snapshot = buildSnapshot(P, SHARDS, kvs, this.revision);
  }

  /** Shards moving, oldest first: a storm starts migrations and completes the oldest, so as many are in flight. */
  private readonly moving: number[] = [];

  /**
   * `count` shard puts as one watch batch, as a rebalancing wave writes them: half start a migration (a stable shard
   * retargeted to the next node), half complete the oldest one in flight (the target claims it).
   */
  storm(count: number, seq: number): { snapshot: ClusterSnapshot; changes: ReturnType<typeof applyEvents>['changes'] } {
    const events: KvEvent[] = [];
    const put = (id: number, value: string): void => {
      events.push({ type: 'put', kv: { key: `${P}/shard/${id}`, value, modRevision: this.revision++, createRevision: 1, lease: '0' } });
    };
    for (let k = 0; k < count; k++) {
      const oldest = this.moving[0];
      if (k % 2 === 1 && oldest !== undefined) {
        this.moving.shift();
        const e = this.snapshot.shards[oldest]!;
        put(oldest, `${e.target},${e.target}`);
        continue;
      }
      let id = ((seq * count + k) * 2654435761) % SHARDS;
      while (this.snapshot.shards[id]!.target !== this.snapshot.shards[id]!.current) id = (id + 1) % SHARDS;
      const e = this.snapshot.shards[id]!;
      const nodeOf = Number(/\.(\d+):/.exec(e.current)![1]) + 200 * Number(/^10\.0\.(\d+)\./.exec(e.current)![1]);
      put(id, `${address((nodeOf + 1) % NODES)},${e.current}`);
      this.moving.push(id);
    }
    const result = applyEvents(this.snapshot, events, this.revision - 1);
    this.snapshot = result.snapshot;
    return result;
  }
}

/** The /metrics text of one node: per-shard objects and calls, lock histogram, hot shards; `scale` grows counters. */
function metricsText(node: number, scale: number): string {
  const a = address(node);
  const lines: string[] = [];
  lines.push('# TYPE goverse_node_ready gauge', 'goverse_node_ready 1');
  lines.push('# TYPE goverse_objects_total gauge');
  for (let id = node; id < SHARDS; id += NODES) lines.push(`goverse_objects_total{node="${a}",type="Counter",shard="${id}"} ${(id * 7919) % 500}`);
  lines.push('# TYPE goverse_method_calls_total counter');
  lines.push(`goverse_method_calls_total{node="${a}",object_type="Counter",method_name="Add",status="success"} ${1000 * scale}`);
  lines.push('# TYPE goverse_shard_method_calls_total counter');
  for (let id = node; id < SHARDS; id += NODES) lines.push(`goverse_shard_method_calls_total{shard="${id}"} ${((id * 104_729) % 1000) * scale}`);
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
    const id = node + h * NODES;
    for (const [stat, v] of [['waits', 10 + h], ['wait_seconds', 0.5 / (h + 1)], ['max_wait_seconds', 0.1], ['timeouts', h === 0 ? 1 : 0]] as const) {
      lines.push(`goverse_shard_lock_contended{shard="${id}",stat="${stat}"} ${v}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Every node scraped twice (so rates exist), summarized as the scraper does. */
function syntheticMetrics(now: number): Map<string, NodeMetrics> {
  const out = new Map<string, NodeMetrics>();
  for (let i = 0; i < NODES; i++) {
    const url = `http://${address(i)}/metrics`;
    const first = summarizeScrape({ kind: 'ok', url, atMs: now - 2000, families: parsePrometheusText(metricsText(i, 1)) });
    out.set(address(i), summarizeScrape({ kind: 'ok', url, atMs: now, families: parsePrometheusText(metricsText(i, 2)) }, first));
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

/** Ink, React and the app, loaded after NODE_ENV is set as the console sets it (React's production build). */
async function loadUi() {
  process.env.NODE_ENV = 'production';
  const [{ render }, { createElement }, { App }] = await Promise.all([import('ink'), import('react'), import('../src/console/ui/App.js')]);
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
    balancer: { strategy: 'count', settings: defaultPlannerSettings(SHARDS) },
    theme: createTheme(true),
    clock: { now: () => Date.now(), monotonic: () => performance.now() },
    writer: null,
    readOnlyReason: null,
    by: 'bench@localhost',
    size: { cols, rows },
    maxFps: 10,
    onQuit: () => {},
    logger: nullLogger,
    timer,
  });
  controller.onWatcherEvent({ type: 'status', status: { kind: 'synced', revision: cluster.snapshot.revision, since: Date.now() } });
  controller.setMetrics(metrics);
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
  const ui = await loadUi();
  const seconds = arg(args, 'seconds', 5);
  const cols = arg(args, 'cols', 200);
  const rows = arg(args, 'rows', 60);
  const cluster = new SyntheticCluster();
  const metrics = syntheticMetrics(cluster.now);
  log(`cluster: ${SHARDS} shards, ${NODES} nodes, terminal ${cols}x${rows}`);

  // Build alone (the pure half of a frame): data model from the previous view plus the composed screen.
  const theme = createTheme(true);
  const uiState = initialUi({ readOnly: false });
  const connection = { endpoints: ['127.0.0.1:2379'], status: { kind: 'synced', revision: 1, since: Date.now() } as const, reconnects: 0 };
  const balancer = { strategy: 'count' as const, settings: defaultPlannerSettings(SHARDS) };
  let view = buildClusterView({ snapshot: cluster.snapshot, now: Date.now(), stuckTimeoutMs: 60_000, balancer, metrics });
  const viewMs: number[] = [];
  const composeMs: number[] = [];
  for (let i = 0; i < 200; i++) {
    cluster.storm(10, i);
    const t0 = performance.now();
    view = buildClusterView({ snapshot: cluster.snapshot, now: Date.now(), stuckTimeoutMs: 60_000, balancer, metrics, previous: view });
    const t1 = performance.now();
    buildFrame({ view, connection, ui: uiState, cols, rows, theme, readOnlyReason: null });
    const t2 = performance.now();
    if (i >= 50) {
      viewMs.push(t1 - t0);
      composeMs.push(t2 - t1);
    }
  }
  viewMs.sort((a, b) => a - b);
  composeMs.sort((a, b) => a - b);
  log(`build: view model p50 ${percentile(viewMs, 0.5).toFixed(2)} ms p99 ${percentile(viewMs, 0.99).toFixed(2)} ms; screen p50 ${percentile(composeMs, 0.5).toFixed(2)} ms p99 ${percentile(composeMs, 0.99).toFixed(2)} ms`);

  // Frames: a batch of 10 shard changes before each, so the view is rebuilt every frame.
  const stepped = new SteppedTimer();
  const m = mount(ui, cluster, metrics, cols, rows, stepped);
  const frames: number[] = [];
  const frameCpu: number[] = [];
  for (let i = 0; i < 300; i++) {
    const { snapshot, changes } = cluster.storm(10, i);
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
    const ms = m.renderedAt() - t0;
    const cpu = process.cpuUsage(cpu0);
    // The first frames warm up the JIT.
    if (i >= 50) {
      frames.push(ms);
      frameCpu.push((cpu.user + cpu.system) / 1000);
    }
    // Ink caps its own rate: let its throttle window pass as the real frame interval would.
    await new Promise((r) => setTimeout(r, 55));
  }
  m.controller.stop();
  m.app.unmount();
  frames.sort((a, b) => a - b);
  frameCpu.sort((a, b) => a - b);
  const frameP50Ms = percentile(frames, 0.5);
  const frameP99Ms = percentile(frames, 0.99);
  log(`frames: p50 ${frameP50Ms.toFixed(2)} ms, p99 ${frameP99Ms.toFixed(2)} ms, max ${frames[frames.length - 1]!.toFixed(2)} ms over ${frames.length}`);
  log(`frames, CPU time: p50 ${percentile(frameCpu, 0.5).toFixed(2)} ms, p99 ${percentile(frameCpu, 0.99).toFixed(2)} ms`);
  const ink = m.inkMs.slice(50).sort((a, b) => a - b);
  log(`of which Ink's output (render tree to text): p50 ${percentile(ink, 0.5).toFixed(2)} ms, p99 ${percentile(ink, 0.99).toFixed(2)} ms`);

  // Storm: real timers, the console at its capped rate, 10 shard updates every 10 ms.
  const s = mount(ui, cluster, metrics, cols, rows, realFrameTimer);
  await new Promise((r) => setTimeout(r, 500));
  const rendersBefore = s.renders();
  const bytesBefore = s.terminal.bytes;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let seq = 1000;
  await new Promise<void>((resolve) => {
    const end = wall0 + seconds * 1000;
    const step = (): void => {
      // Catch up when a timer fires late, so the rate stays 1000 updates per second.
      const due = Math.floor((performance.now() - wall0) / 10);
      while (seq - 1000 < due) {
        const { snapshot, changes } = cluster.storm(10, seq++);
        s.controller.onWatcherEvent({ type: 'snapshot', snapshot, changes, cause: 'watch' });
      }
      if (performance.now() >= end) resolve();
      else setTimeout(step, 10);
    };
    step();
  });
  const wall = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  const stormCpuPercent = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  const stormFrames = s.renders() - rendersBefore;
  const updates = (seq - 1000) * 10;
  log(
    `storm: ${updates} shard updates in ${(wall / 1000).toFixed(1)} s, ${stormFrames} frames (${((stormFrames * 1000) / wall).toFixed(1)}/s), ` +
      `${Math.round((s.terminal.bytes - bytesBefore) / 1024)} KiB written, CPU ${stormCpuPercent.toFixed(1)} % of one core`,
  );
  const rssMb = process.memoryUsage().rss / 1048576;
  s.controller.stop();
  s.app.unmount();
  return {
    frameP50Ms: round(frameP50Ms),
    frameP99Ms: round(frameP99Ms),
    stormCpuPercent: round(stormCpuPercent),
    rssMb: round(rssMb),
  };
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
