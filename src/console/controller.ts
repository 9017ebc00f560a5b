/**
 * The console's state holder between the edges (etcd watcher, history feed, metrics scraper, cluster operations) and
 * the Ink components. Inputs only mark what changed and request a frame; the frame scheduler turns any number of them into
 * one rebuild and one commit per frame, at a capped rate. The data model is rebuilt only when its inputs changed
 * (or once a second, for ages and countdowns), never while the screen is frozen (`Z`).
 */
import type { Key } from 'ink';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log/logger.js';
import { type OperationPlan, type OperationRequest, planOperation } from '../core/operations/operations.js';
import { balancerOutlook, type BalancerOutlook } from '../core/operations/outlook.js';
import type { OperationResult } from '../core/operations/result.js';
import { Sightings } from '../core/planner/sightings.js';
import { HistoryTimeline, type HistoryUpdate, observedMoves } from '../core/history/timeline.js';
import { Keyspace } from '../core/keyspace/keys.js';
import { isUpstreamNode } from '../core/planner/upstream.js';
import { type ClusterChange, type ClusterSnapshot, leaderAddress } from '../core/snapshot/snapshot.js';
import { type BalancerInput, buildClusterView, type ClusterView, type NodeMetrics, type ViewInput } from '../core/view/index.js';
import type { WatcherEvent, WatcherStatus } from '../edge/etcd/watcher.js';
import { FrameScheduler, type FrameTimer, realFrameTimer } from './frameScheduler.js';
import { keyName, typedKeys } from './keys.js';
import { buildFrame, type Frame } from './model/frame.js';
import type { Connection, MetricsSource } from './model/header.js';
import { describeResult, nothingToDoText, planFailureText } from './model/writes.js';
import type { HistoryView } from './model/rebalancePane.js';
import { type Effect, initialUi, type PendingWrite, reduceKey, type UiState, withOverlay, withStatus } from './model/ui.js';
import type { Theme } from './theme.js';

/** Executes a planned write: ClusterOperations in the console, a recorder in tests. */
export interface WriteExecutor {
  execute(plan: OperationPlan): Promise<OperationResult>;
}

export interface ControllerOptions {
  readonly snapshot: ClusterSnapshot;
  readonly endpoints: readonly string[];
  readonly stuckTimeoutMs: number;
  readonly balancer: Omit<BalancerInput, 'stableSince'>;
  readonly theme: Theme;
  readonly clock: Clock;
  /** Null when writes are off; `readOnlyReason` says why. */
  readonly writer: WriteExecutor | null;
  readonly readOnlyReason: string | null;
  /** False when stdin is not a terminal (no key can be read); default true. */
  readonly readsKeys?: boolean;
  /** Who acts, recorded in records (`user@host`). */
  readonly by: string;
  /** Longest pause of rebalancing the console writes (GOVERSE_MAX_PAUSE). */
  readonly maxPauseMs: number;
  readonly size: { readonly cols: number; readonly rows: number };
  /** Frames per second at most: for data changes, and for the operator's keys. */
  readonly maxFps: { readonly data: number; readonly input: number };
  readonly onQuit: () => void;
  readonly onCopy?: (text: string) => void;
  readonly logger: Logger;
  readonly timer?: FrameTimer;
}

/** Past this many changed shards a rebuild compares every entry rather than walk the list. */
const HINT_LIMIT_SHARE = 0.25;

/** How long a view is reused without new input before ages and countdowns are refreshed. */
const AGE_REFRESH_MS = 1000;

/** History entries the console keeps (the newest); `goverse-top history` reads them all. */
export const CONSOLE_HISTORY_LIMIT = 1000;

export class ConsoleController {
  private ui: UiState;
  private snapshot: ClusterSnapshot;
  private status: WatcherStatus;
  private reconnects = 0;
  private metrics: ReadonlyMap<string, NodeMetrics> = new Map();
  /**
   * Shards whose entry or migration record changed since the view was built, from the watch's changes; null:
   * unknown (the first full list), so the rebuild compares them all.
   */
  private changedShards: Set<number> | null = null;
  /** Nodes whose records or metrics changed since the view was built; null: unknown, so all are compared. */
  private changedNodes: Set<string> | null = null;
  private unmatched: ViewInput['unmatchedMetrics'] = [];
  private metricsSource: MetricsSource = { kind: 'scrape' };
  /** The stability clock and the first sightings of migrations (their age), kept from the watcher's changes. */
  private readonly sightings = new Sightings();
  private view: ClusterView;
  private viewAt: number;
  private dataDirty = false;
  /** The history as the feed delivers it, and as the screen shows it (a copy taken when not frozen). */
  private readonly timeline: HistoryTimeline;
  private history: HistoryView = { entries: [], malformed: 0 };
  private historyDirty = false;
  private size: { cols: number; rows: number };
  private current: Frame;
  private readonly listeners = new Set<() => void>();
  private readonly scheduler: FrameScheduler;
  private stopped = false;

  constructor(private readonly options: ControllerOptions) {
    this.ui = initialUi({ readOnly: options.writer === null });
    this.snapshot = options.snapshot;
    this.status = { kind: 'connecting', since: options.clock.now() };
    this.size = { ...options.size };
    this.viewAt = options.clock.now();
    this.sightings.restart(this.snapshot, this.viewAt);
    this.timeline = new HistoryTimeline(new Keyspace(this.snapshot.prefix), CONSOLE_HISTORY_LIMIT);
    this.view = this.buildView(this.viewAt, undefined);
    this.current = this.compose();
    this.scheduler = new FrameScheduler(1000 / options.maxFps.data, 1000 / options.maxFps.input, () => this.frame(), options.timer ?? realFrameTimer);
  }

  // ---- React side ----

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getFrame = (): Frame => this.current;

  /** A key press from Ink's useInput. */
  readonly onKey = (input: string, key: Key): void => {
    const name = keyName(input, key);
    // Keys typed fast or pasted arrive as one string: each character is a key of its own (`:stuck` opens the palette).
    if (name === input && input.length > 1) for (const k of typedKeys(input)) this.handleKey(k);
    else this.handleKey(name);
  };

  // ---- edge side ----

  onWatcherEvent(event: WatcherEvent): void {
    if (event.type === 'status') {
      const lost = event.status.kind === 'reconnecting' || event.status.kind === 'stale';
      const wasLost = this.status.kind === 'reconnecting' || this.status.kind === 'stale';
      if (lost && !wasLost && this.snapshot.revision > 0) this.reconnects++;
      this.status = event.status;
    } else {
      this.snapshot = event.snapshot;
      const now = this.options.clock.now();
      if (event.cause === 'initial') this.sightings.restart(event.snapshot, now);
      else this.observeMoves(event.snapshot, event.changes, now);
      this.noteChangedShards(event);
      this.sightings.observe(event.changes, now);
      this.dataDirty = true;
    }
    this.request();
  }

  /** The history feed's list and events: decoded once here, shown from the next frame. */
  onHistory(update: HistoryUpdate): void {
    this.timeline.apply(update);
    this.historyDirty = true;
    this.request();
  }

  /** `changed`: the nodes whose entry differs from the previous map's (null: unknown, every node is compared). */
  setMetrics(metrics: ReadonlyMap<string, NodeMetrics>, unmatched: ViewInput['unmatchedMetrics'] = [], changed: Iterable<string> | null = null): void {
    this.metrics = metrics;
    if (changed === null) this.changedNodes = null;
    else if (this.changedNodes !== null) for (const a of changed) this.changedNodes.add(a);
    this.unmatched = unmatched;
    this.dataDirty = true;
    this.request();
  }

  /** Where metrics come from and, through Prometheus, whether it answers (shown in the header). */
  setMetricsSource(source: MetricsSource): void {
    this.metricsSource = source;
    this.request();
  }

  setSize(cols: number, rows: number): void {
    this.size = { cols, rows };
    this.request(true);
  }

  /** Rebuilds ages and countdowns; the caller's timer calls this every second. */
  tick(): void {
    if (this.options.clock.now() - this.viewAt >= AGE_REFRESH_MS) this.dataDirty = true;
    this.request();
  }

  /** The latest snapshot (not the frozen one): what writes are planned against. */
  get latestSnapshot(): ClusterSnapshot {
    return this.snapshot;
  }

  stop(): void {
    this.stopped = true;
    this.scheduler.stop();
  }

  // ---- internals ----

  private request(input = false): void {
    if (!this.stopped) this.scheduler.request(input);
  }

  /** The initial list changes everything without listing it; a re-list and the watch list what changed. */
  private noteChangedShards(event: Extract<WatcherEvent, { type: 'snapshot' }>): void {
    if (event.cause === 'initial') {
      this.changedShards = null;
      this.changedNodes = null;
      return;
    }
    const shards = this.changedShards;
    const nodes = this.changedNodes;
    for (const c of event.changes) {
      if (c.kind === 'shard') shards?.add(c.id);
      else if (c.kind === 'migration') shards?.add(c.shardId);
      else if (c.kind === 'nodeinfo' || c.kind === 'load' || c.kind === 'drain' || c.kind === 'node-joined' || c.kind === 'node-left') nodes?.add(c.address);
    }
    if (shards !== null && shards.size > event.snapshot.numShards * HINT_LIMIT_SHARE) this.changedShards = null;
  }

  private frame(): void {
    if (this.dataDirty && !this.ui.frozen) {
      const now = this.options.clock.now();
      this.view = this.buildView(now, this.view, this.changedShards, this.changedNodes);
      this.changedShards = new Set();
      this.changedNodes = new Set();
      this.viewAt = now;
      this.dataDirty = false;
    }
    if (this.historyDirty && !this.ui.frozen) {
      this.history = { entries: [...this.timeline.entries], malformed: this.timeline.malformed.size };
      this.historyDirty = false;
    }
    this.current = this.compose();
    for (const l of this.listeners) l();
  }

  private buildView(
    now: number,
    previous: ClusterView | undefined,
    changedShards: ReadonlySet<number> | null = null,
    changedNodes: ReadonlySet<string> | null = null,
  ): ClusterView {
    const { stableSince, firstSeen } = this.sightings;
    return buildClusterView({
      changedShards,
      changedNodes,
      snapshot: this.snapshot,
      now,
      stuckTimeoutMs: this.options.stuckTimeoutMs,
      balancer: { ...this.options.balancer, ...(stableSince === undefined ? {} : { stableSince }) },
      metrics: this.metrics,
      unmatchedMetrics: this.unmatched,
      firstSeen,
      ...(previous === undefined ? {} : { previous }),
    });
  }

  private compose(): Frame {
    return buildFrame({
      view: this.view,
      connection: this.connection(),
      ui: this.ui,
      cols: this.size.cols,
      rows: this.size.rows,
      theme: this.options.theme,
      history: this.history,
      readOnlyReason: this.options.readOnlyReason,
      readsKeys: this.options.readsKeys ?? true,
      metricsSource: this.metricsSource,
    });
  }

  private connection(): Connection {
    return { endpoints: this.options.endpoints, status: this.status, reconnects: this.reconnects };
  }

  /**
   * An upstream leader records no history: the moves the console sees while it runs are shown, marked observed
   * (never stored, so another terminal does not see them).
   */
  private observeMoves(snapshot: ClusterSnapshot, changes: readonly ClusterChange[], now: number): void {
    const leader = leaderAddress(snapshot.leader);
    if (leader === null || !isUpstreamNode(snapshot, leader)) return;
    const moves = observedMoves(changes);
    if (moves.length === 0) return;
    this.timeline.observe({ at: now, actor: leader, source: 'observed', action: 'move', moves, reason: `${moves.length} shards got a new target`, outcome: 'observed' });
    this.historyDirty = true;
  }

  private setUi(ui: UiState): void {
    this.ui = ui;
    // Unfreezing shows the data that arrived meanwhile.
    if (!ui.frozen) this.dataDirty ||= this.view.snapshot !== this.snapshot;
    this.request(true);
  }

  private handleKey(name: string): void {
    const { ui, effect } = reduceKey(this.ui, name, this.current.context);
    this.setUi(ui);
    if (effect !== undefined) this.runEffect(effect);
  }

  private runEffect(effect: Effect): void {
    switch (effect.kind) {
      case 'quit':
        this.options.onQuit();
        return;
      case 'copy':
        this.options.onCopy?.(effect.text);
        return;
      case 'plan':
        this.plan(effect.request);
        return;
      case 'execute':
        void this.execute(effect.pending);
        return;
    }
  }

  private plan(request: OperationRequest): void {
    let plan: OperationPlan;
    let outlook: BalancerOutlook | null;
    try {
      const { clock, by, maxPauseMs } = this.options;
      plan = planOperation(request, { snapshot: this.snapshot, now: clock.now(), by, maxPauseMs });
      outlook = request.kind === 'retarget' ? balancerOutlook(plan, { snapshot: this.snapshot, ...this.options.balancer, now: clock.now() }) : null;
    } catch (err) {
      this.setUi(withStatus(this.ui, planFailureText(request, err), 'bad'));
      return;
    }
    if (plan.shardChanges.length === 0 && plan.recordChanges.length === 0) {
      this.setUi(withStatus(this.ui, nothingToDoText(plan), 'warn'));
      return;
    }
    this.setUi(withOverlay(this.ui, { kind: 'confirm', pending: { request, plan, outlook }, choice: 'cancel' }));
  }

  private async execute(pending: PendingWrite): Promise<void> {
    const writer = this.options.writer;
    if (writer === null) {
      this.setUi(withStatus(withOverlay(this.ui, { kind: 'none' }), `${pending.plan.operation} refused: read-only mode`, 'bad'));
      return;
    }
    this.setUi(withOverlay(this.ui, { kind: 'busy', what: pending.plan.summary }));
    let ui: UiState;
    try {
      const result = await writer.execute(pending.plan);
      ui = withStatus(this.ui, describeResult(result), result.conflicts + result.failed > 0 ? 'bad' : 'good');
    } catch (err) {
      this.options.logger.warn('console write failed', { operation: pending.plan.operation, err });
      ui = withStatus(this.ui, `${pending.plan.operation} failed: ${describeError(err)}`, 'bad');
    }
    if (!this.stopped) this.setUi(withOverlay(ui, { kind: 'none' }));
  }
}

