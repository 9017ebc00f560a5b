/** Test fixtures for the console: snapshots built from etcd-like key-values, and a controller wired to fakes. */
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import type { Clock } from '../../../src/core/clock.js';
import { nullLogger } from '../../../src/core/log/logger.js';
import { DEFAULT_MAX_PAUSE_MS, type OperationPlan } from '../../../src/core/operations/operations.js';
import type { OperationResult } from '../../../src/core/operations/result.js';
import { defaultPlannerSettings } from '../../../src/core/planner/settings.js';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { parsePrometheusText } from '../../../src/core/metrics/textFormat.js';
import { buildSnapshot, type ClusterSnapshot, type Kv } from '../../../src/core/snapshot/snapshot.js';
import { type NodeMetrics, summarizeScrape } from '../../../src/core/view/index.js';
import { encodeHistoryEntry, type HistoryDraft, historyId } from '../../../src/core/history/entry.js';
import { HistoryTimeline } from '../../../src/core/history/timeline.js';
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import { ConsoleController, type WriteExecutor } from '../../../src/console/controller.js';
import type { HistoryView } from '../../../src/console/model/rebalancePane.js';
import type { FrameTimer } from '../../../src/console/frameScheduler.js';
import { createTheme } from '../../../src/console/theme.js';
import { App } from '../../../src/console/ui/App.js';

export const P = '/gv';
export const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

let rev = 1;
export const kv = (key: string, value: string, lease = '0'): Kv => ({ key, value, modRevision: rev, createRevision: rev++, lease });

export interface ClusterSpec {
  readonly nodes: readonly string[];
  readonly numShards: number;
  /** Shard values by ID; default: round-robin stable over the nodes. */
  readonly shards?: Readonly<Record<number, string>>;
  readonly leader?: string;
  readonly extra?: readonly Kv[];
}

export function snapshotOf(spec: ClusterSpec): ClusterSnapshot {
  const kvs: Kv[] = spec.nodes.map((n) => kv(`${P}/nodes/${n}`, n, '1'));
  for (let id = 0; id < spec.numShards && spec.nodes.length > 0; id++) {
    const n = spec.nodes[id % spec.nodes.length]!;
    kvs.push(kv(`${P}/shard/${id}`, spec.shards?.[id] ?? `${n},${n}`));
  }
  if (spec.leader !== undefined) kvs.push(kv(`${P}/leader`, spec.leader));
  kvs.push(...(spec.extra ?? []));
  return buildSnapshot(P, spec.numShards, kvs, rev++);
}

export const N1 = '10.0.0.1:7001';
export const N2 = '10.0.0.2:7001';
export const N3 = '10.0.0.3:7001';

const info = (i: number): string =>
  encodeRecord({ nodeId: `node-${i}`, opsUrl: `http://10.0.0.${i}:9100`, apiUrl: `http://10.0.0.${i}:7001`, version: '0.1.0', weight: 1, startedAt: NOW - 3_600_000, state: 'running' });

/**
 * 48 shards over N1 and N2 (alive, N1 leads) and N3 (dead): shard 5 pinned, shard 7 stuck (owner N3 dead, targeted
 * at N2 for 5 minutes), shard 9 migrating for 10 s, shard 11 without a target; the leader's balancer status with two
 * recent decisions.
 */
export function richSnapshot(extra: readonly Kv[] = []): ClusterSnapshot {
  const shards: Record<number, string> = {
    5: `${N1},${N1},f=pinned`,
    7: `${N2},${N3}`,
    9: `${N1},${N2}`,
    11: `,`,
  };
  for (let id = 0; id < 48; id++) if (shards[id] === undefined) shards[id] = id % 2 === 0 ? `${N1},${N1}` : `${N2},${N2}`;
  return snapshotOf({
    nodes: [N1, N2],
    numShards: 48,
    shards,
    leader: N1,
    extra: [
      kv(`${P}/nodeinfo/${N1}`, info(1), '1'),
      kv(`${P}/nodeinfo/${N2}`, info(2), '1'),
      kv(`${P}/migration/7`, encodeRecord({ since: NOW - 300_000, target: N2, from: N3 })),
      kv(`${P}/migration/9`, encodeRecord({ since: NOW - 10_000, target: N1, from: N2 })),
      kv(
        `${P}/rebalance/status`,
        encodeRecord({
          leader: N1,
          strategy: 'count',
          state: 'balanced',
          reason: 'count: spread 1 within the threshold',
          at: NOW - 2_000,
          recent: [
            { at: NOW - 60_000, strategy: 'count', outcome: 'rebalance', reason: 'move 2 shards off the fullest node', moves: [{ shard: 3, from: N1, to: N2 }, { shard: 13, from: N1, to: N2 }] },
            { at: NOW - 120_000, strategy: 'count', outcome: 'reassign', reason: 'assign 48 shards', moves: [] },
          ],
        }),
        '1',
      ),
      ...extra,
    ],
  });
}

/**
 * The cluster history of the rich snapshot, as stored: the leader assigned every shard (2 minutes ago) and moved
 * shards 3 and 13 (1 minute ago), an operator pinned shard 5, shard 7 was found stuck, and the leader's reason to do
 * nothing changed.
 */
export function richHistoryKvs(): Kv[] {
  const leader = { actor: N1, source: 'leader' as const };
  const drafts: HistoryDraft[] = [
    {
      ...leader,
      at: NOW - 120_000,
      action: 'assign',
      moves: Array.from({ length: 48 }, (_, id) => ({ shard: id, from: '', to: id % 2 === 0 ? N1 : N2 })),
      reason: 'assign 48 shards',
      outcome: 'written',
    },
    { ...leader, at: NOW - 60_000, action: 'rebalance', moves: [{ shard: 3, from: N1, to: N2 }, { shard: 13, from: N1, to: N2 }], reason: 'move 2 shards off the fullest node', outcome: 'written' },
    { at: NOW - 30_000, actor: 'ops@box', source: 'cli', action: 'pin', shards: [5], reason: 'pin 1 shards', outcome: 'written' },
    { ...leader, at: NOW - 20_000, action: 'stuck', moves: [{ shard: 7, from: N3, to: N2 }], reason: '1 owner-dead: owner 10.0.0.3:7001 is dead', outcome: 'detected' },
    { ...leader, at: NOW - 10_000, action: 'skip', reason: 'within-threshold: count: spread 1 within the threshold', outcome: 'skipped' },
  ];
  return drafts.map((d, i) => kv(`${P}/history/${historyId(d.at, `e${i}`)}`, encodeHistoryEntry(d)));
}

/** The rich history as the console holds it. */
export function richHistory(): HistoryView {
  const t = new HistoryTimeline(new Keyspace(P), 1000);
  t.apply({ kind: 'reset', kvs: richHistoryKvs() });
  return { entries: t.entries, malformed: t.malformed.size };
}

/** /metrics of one node as goverse-node writes them (the parts the console reads), counters scaled by `scale`. */
function metricsText(address: string, shards: readonly number[], scale: number, lockP99Bucket: string): string {
  const lines = ['# TYPE goverse_node_ready gauge', 'goverse_node_ready 1', '# TYPE goverse_objects_total gauge'];
  for (const id of shards) lines.push(`goverse_objects_total{node="${address}",type="Counter",shard="${id}"} ${id + 1}`);
  lines.push('# TYPE goverse_method_calls_total counter', `goverse_method_calls_total{node="${address}",object_type="Counter",method_name="Add",status="success"} ${100 * scale}`);
  lines.push('# TYPE goverse_shard_method_calls_total counter');
  for (const id of shards) lines.push(`goverse_shard_method_calls_total{shard="${id}"} ${id * scale}`);
  lines.push('# TYPE goverse_shard_lock_acquisitions_total counter', `goverse_shard_lock_acquisitions_total{mode="read"} ${500 * scale}`);
  lines.push('# TYPE goverse_shard_lock_wait_seconds histogram');
  for (const le of ['0.001', '0.01', '0.1', '+Inf']) {
    lines.push(`goverse_shard_lock_wait_seconds_bucket{mode="read",le="${le}"} ${(le === lockP99Bucket || le === '+Inf' ? 100 : 99) * scale}`);
  }
  lines.push(`goverse_shard_lock_wait_seconds_sum{mode="read"} ${scale}`, `goverse_shard_lock_wait_seconds_count{mode="read"} ${100 * scale}`);
  lines.push('# TYPE goverse_shard_write_locks_held gauge', 'goverse_shard_write_locks_held 2');
  lines.push('# TYPE goverse_shard_lock_timeouts_total counter', `goverse_shard_lock_timeouts_total{mode="read"} ${scale}`);
  lines.push('# TYPE goverse_shard_lock_contended gauge');
  const hot = shards[0]!;
  for (const [stat, v] of [['waits', 12], ['wait_seconds', 0.75], ['max_wait_seconds', 0.25], ['timeouts', 1]] as const) {
    lines.push(`goverse_shard_lock_contended{shard="${hot}",stat="${stat}"} ${v}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Two scrapes of N1 and N2 (so rates exist) summarized as the scraper does; N3 unreachable. */
export function richMetrics(): Map<string, NodeMetrics> {
  const out = new Map<string, NodeMetrics>();
  for (const [address, parity, bucket] of [[N1, 0, '0.01'], [N2, 1, '0.1']] as const) {
    const shards = Array.from({ length: 24 }, (_, i) => 2 * i + parity);
    const url = `http://${address}/metrics`;
    const first = summarizeScrape({ kind: 'ok', url, atMs: NOW - 2000, families: parsePrometheusText(metricsText(address, shards, 1, bucket)) });
    out.set(address, summarizeScrape({ kind: 'ok', url, atMs: NOW, families: parsePrometheusText(metricsText(address, shards, 2, bucket)) }, first));
  }
  out.set(N3, { kind: 'unreachable', url: 'http://10.0.0.3:9100/metrics', atMs: NOW, reason: 'connect ECONNREFUSED 10.0.0.3:9100', lastOk: null });
  return out;
}

/** Runs frames on the next turn of the event loop: tests wait for conditions, not for the frame interval. */
export const immediateTimer: FrameTimer = {
  now: () => performance.now(),
  set: (fn) => setImmediate(fn),
  clear: (h) => clearImmediate(h as NodeJS.Immediate),
};

export const fixedClock = (now = NOW): Clock => ({ now: () => now, monotonic: () => 0 });

/** Records the plans it is asked to execute and reports every change as written. */
export class RecordingWriter implements WriteExecutor {
  readonly plans: OperationPlan[] = [];
  constructor(private readonly fail?: Error) {}
  async execute(plan: OperationPlan): Promise<OperationResult> {
    this.plans.push(plan);
    if (this.fail !== undefined) throw this.fail;
    const changes = [
      ...plan.shardChanges.map((c) => ({ id: c.shardId, key: c.key, old: c.old, new: c.new, modRevision: c.expectedModRevision })),
      ...plan.recordChanges.map((c) => ({ id: c.id, key: c.key, old: c.old, new: c.new, modRevision: c.expectedModRevision })),
    ].map((c) => ({ ...c, written: true, outcome: 'written' as const }));
    return { operation: plan.operation, summary: plan.summary, dryRun: false, changes, skipped: plan.skipped, conflicts: 0, failed: 0 };
  }
}

export interface Harness {
  readonly controller: ConsoleController;
  readonly writer: RecordingWriter;
  readonly quits: number[];
  readonly copies: string[];
  lastFrame(): string;
  /** Every frame Ink wrote so far, styled. */
  frames(): readonly string[];
  /** Types keys one at a time, with the ticks ink-testing-library needs around each write. */
  press(...keys: string[]): Promise<void>;
  /** Lets a frame requested from outside (watcher event, resize) render. */
  settle(): Promise<void>;
  unmount(): void;
}

export const KEYS: Readonly<Record<string, string>> = {
  up: '\u001b[A',
  down: '\u001b[B',
  right: '\u001b[C',
  left: '\u001b[D',
  return: '\r',
  escape: '\u001b',
  tab: '\t',
  'shift-tab': '\u001b[Z',
  backspace: '\u007f',
  'ctrl-c': '\u0003',
};

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function mount(
  snapshot: ClusterSnapshot,
  options: {
    readOnly?: boolean;
    cols?: number;
    rows?: number;
    writer?: RecordingWriter;
    color?: boolean;
    metrics?: Map<string, NodeMetrics>;
    readsKeys?: boolean;
    maxPauseMs?: number;
    /** Stored history entries, delivered as the feed's first list. */
    history?: readonly Kv[];
  } = {},
): Promise<Harness> {
  const writer = options.writer ?? new RecordingWriter();
  const quits: number[] = [];
  const copies: string[] = [];
  const controller = new ConsoleController({
    snapshot,
    endpoints: ['127.0.0.1:2379'],
    stuckTimeoutMs: 60_000,
    balancer: { strategy: 'count', settings: defaultPlannerSettings(snapshot.numShards) },
    theme: createTheme(options.color ?? false),
    clock: fixedClock(),
    writer: options.readOnly ? null : writer,
    readOnlyReason: options.readOnly ? '--read-only' : null,
    ...(options.readsKeys === undefined ? {} : { readsKeys: options.readsKeys }),
    by: 'tester@host',
    maxPauseMs: options.maxPauseMs ?? DEFAULT_MAX_PAUSE_MS,
    size: { cols: options.cols ?? 100, rows: options.rows ?? 24 },
    maxFps: { data: 1000, input: 1000 },
    onQuit: () => quits.push(1),
    onCopy: (t) => copies.push(t),
    logger: nullLogger,
    timer: immediateTimer,
  });
  controller.onWatcherEvent({ type: 'status', status: { kind: 'synced', revision: snapshot.revision, since: NOW } });
  if (options.metrics !== undefined) controller.setMetrics(options.metrics);
  if (options.history !== undefined) controller.onHistory({ kind: 'reset', kvs: options.history });
  const r = render(createElement(App, { controller }));
  await tick();
  await tick();
  return {
    controller,
    writer,
    quits,
    copies,
    lastFrame: () => stripAnsi(r.lastFrame() ?? ''),
    frames: () => r.frames,
    async press(...keys: string[]) {
      for (const k of keys) {
        await tick();
        r.stdin.write(KEYS[k] ?? k);
        await tick();
        await tick();
      }
    },
    async settle() {
      await tick();
      await tick();
      await tick();
    },
    unmount: () => {
      controller.stop();
      r.unmount();
    },
  };
}

/** Text without SGR escape codes (colours and attributes). */
export function stripAnsi(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\u001b' && s[i + 1] === '[') {
      let j = i + 2;
      while (j < s.length && /[0-9;]/.test(s[j]!)) j++;
      if (s[j] === 'm') {
        i = j;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}
