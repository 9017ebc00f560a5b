/**
 * ClusterWatcher: list-then-watch of `<prefix>/` into immutable ClusterSnapshots.
 *
 * One range read builds the snapshot, a watch from its revision + 1 feeds applyEvents, and every new snapshot is
 * published with its changes, in revision order. The view never silently goes stale:
 * - disconnects: the raw watch resumes from the last delivered revision (no loss, duplicates dropped);
 * - a watch cancelled by etcd (compaction past its revision): re-list, watch from the new revision + 1;
 * - wiped etcd data (the server's revision is below ours on reconnect, or a re-list goes backwards): re-list;
 * - a periodic resync re-lists and publishes the difference, bounding staleness whatever went unnoticed.
 * A re-list publishes `diffSnapshots(old, new)`, so subscribers see the same kinds of change either way.
 */
import { AbortedError, describeError, type GoverseError, InternalError } from '../../core/errors.js';
import { type Clock, systemClock } from '../../core/clock.js';
import type { Keyspace } from '../../core/keyspace/keys.js';
import { type Logger, nullLogger } from '../../core/log/logger.js';
import {
  applyEvents,
  buildSnapshot,
  type ClusterChange,
  type ClusterSnapshot,
  emptySnapshot,
  type KvEvent,
} from '../../core/snapshot/snapshot.js';
import type { EtcdClient, WatchHandle } from './client.js';
import { diffSnapshots } from '../../core/snapshot/diff.js';
import { backoffDelay, sleep } from '../timing.js';

export type WatcherStatus =
  /** Before the first successful load. */
  | { readonly kind: 'connecting'; readonly since: number }
  /** Watching; the snapshot reflects etcd at `revision`. */
  | { readonly kind: 'synced'; readonly revision: number; readonly since: number }
  /** The connection is lost (or a re-list keeps failing); the snapshot is what was last seen. */
  | { readonly kind: 'reconnecting'; readonly since: number; readonly attempts: number; readonly lastError: string }
  /** The snapshot is known to be outdated (watch cancelled, etcd data wiped) and a re-list is under way. */
  | { readonly kind: 'stale'; readonly since: number; readonly reason: string };

/** Why the watcher listed the prefix (again). */
export type ListReason = 'initial' | 'periodic' | 'cancelled' | 'wiped';

export interface SnapshotUpdate {
  readonly snapshot: ClusterSnapshot;
  readonly changes: readonly ClusterChange[];
  /** 'watch' for watch events, 'heal' for fresh reads (see heal()); otherwise the reason of the list it comes from. */
  readonly cause: 'watch' | 'heal' | ListReason;
}

export type WatcherEvent =
  | ({ readonly type: 'snapshot' } & SnapshotUpdate)
  | { readonly type: 'status'; readonly status: WatcherStatus };

/** Counters for the node's metrics (it maps them to prom-client); all optional. */
export interface WatcherMetrics {
  /** Upstream's `goverse_watch_reconnections_total{outcome}`: a broken watch healthy again, or a failed re-list. */
  onReconnect?(outcome: 'reconnected' | 'reload_failed'): void;
  /** A successful full list, by reason. */
  onList?(reason: ListReason): void;
}

export interface ClusterWatcherOptions {
  readonly client: EtcdClient;
  /** The cluster's key layout: the watch and the lists cover `keys.root`. */
  readonly keys: Keyspace;
  readonly numShards: number;
  /** Re-list at this interval to bound staleness. Default 60 s. */
  readonly resyncIntervalMs?: number;
  /** Backoff between failed list attempts: doubles from `initial` up to `max`. Default 100 ms .. 5 s. */
  readonly retryBackoffMs?: { readonly initial: number; readonly max: number };
  /**
   * Watch events arriving within this many ms of the first are applied and published as one batch. Default 0: each
   * watch response at once. The console sets it: every batch copies the shard array (8192 entries), so a storm of
   * small transactions would otherwise cost a copy and a publish each.
   */
  readonly coalesceMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly metrics?: WatcherMetrics;
}

export type WatcherListener = (event: WatcherEvent) => void;

export class ClusterWatcher {
  private readonly client: EtcdClient;
  private readonly keys: Keyspace;
  private readonly numShards: number;
  private readonly resyncIntervalMs: number;
  private readonly coalesceMs: number;
  private readonly backoff: { readonly initial: number; readonly max: number };
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: WatcherMetrics;
  private readonly listeners = new Set<WatcherListener>();
  private readonly abort = new AbortController();

  private snap: ClusterSnapshot;
  private state: WatcherStatus;
  private watch: WatchHandle | null = null;
  /** Bumped whenever the watch is replaced: callbacks of an older watch are ignored. */
  private generation = 0;
  /** The next list to run (at most one is pending; a stronger reason replaces a weaker one). */
  private pendingList: ListReason | null = null;
  private loop: Promise<void> | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private started = false;
  private stopped = false;
  private firstLoad: { resolve: () => void; reject: (err: Error) => void } | null = null;
  /** Watch events held back for `coalesceMs`, applied together when the timer fires. */
  private held: { events: KvEvent[]; revision: number; timer: NodeJS.Timeout } | null = null;

  constructor(options: ClusterWatcherOptions) {
    this.client = options.client;
    this.keys = options.keys;
    this.numShards = options.numShards;
    this.resyncIntervalMs = options.resyncIntervalMs ?? 60_000;
    this.coalesceMs = options.coalesceMs ?? 0;
    this.backoff = options.retryBackoffMs ?? { initial: 100, max: 5000 };
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? nullLogger).child({ component: 'cluster-watcher', prefix: this.keys.prefix });
    this.metrics = options.metrics ?? {};
    this.snap = emptySnapshot(this.keys.prefix, this.numShards);
    this.state = { kind: 'connecting', since: this.clock.now() };
  }

  /** The latest snapshot (empty, revision 0, before the first load). */
  get snapshot(): ClusterSnapshot {
    return this.snap;
  }

  get status(): WatcherStatus {
    // The synced revision follows the snapshot without a status event per watch batch.
    return this.state.kind === 'synced' ? { ...this.state, revision: this.snap.revision } : this.state;
  }

  /** Listeners are called synchronously, in order; a throwing listener is logged and skipped. */
  subscribe(listener: WatcherListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves after the first successful load; rejects with AbortedError when stopped (or `signal` aborts) first. */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.started) throw new InternalError('ClusterWatcher.start() called twice');
    this.started = true;
    const loaded = new Promise<void>((resolve, reject) => (this.firstLoad = { resolve, reject }));
    const onAbort = (): void => void this.stop();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.requestList('initial');
    try {
      await loaded;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Cancels the watch, timers and any list in flight, and waits for them. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    this.clearResyncTimer();
    this.firstLoad?.reject(new AbortedError('cluster watcher stopped before the first load'));
    this.firstLoad = null;
    await this.loop;
    await this.replaceWatch(null);
  }

  /**
   * Applies keys read fresh at `readRevision` (the failure branch of a lost CAS) before the watch delivers them, so
   * the next pass plans on the value that beat it instead of repeating the same stale write. Only when the reads are
   * newer than everything the snapshot reflects: then no record regresses. The snapshot's revision stays what the
   * watch delivered (the reads cover a few keys only), and the watch's own events for these keys are replays.
   */
  heal(reads: readonly KvEvent[], readRevision: number): void {
    if (reads.length === 0 || readRevision <= this.snap.revision || this.state.kind !== 'synced') return;
    const { snapshot, changes } = applyEvents(this.snap, reads, this.snap.revision);
    if (changes.length === 0) return;
    this.snap = snapshot;
    this.publish({ snapshot, changes, cause: 'heal' });
  }

  private requestList(reason: ListReason): void {
    if (this.stopped) return;
    // A cancelled or wiped watch matters more than a periodic resync (it decides the status and the metric).
    if (this.pendingList === null || this.pendingList === 'periodic') this.pendingList = reason;
    this.loop ??= this.runLists();
  }

  /** Runs pending lists one at a time, retrying failures with backoff until one succeeds or the watcher stops. */
  private async runLists(): Promise<void> {
    try {
      await this.listUntilDone();
    } finally {
      // Synchronously with the loop's end, so a list requested right after starts a new loop.
      this.loop = null;
    }
  }

  private async listUntilDone(): Promise<void> {
    let attempts = 0;
    while (this.pendingList !== null && !this.stopped) {
      const reason = this.pendingList;
      this.pendingList = null;
      this.clearResyncTimer();
      // Events of the old watch must not interleave with the list: drop it first. The new watch starts right
      // after the listed revision, so nothing between is lost.
      await this.replaceWatch(null);
      try {
        const { kvs, revision } = await this.client.rangePrefix(this.keys.root, { signal: this.abort.signal, except: this.keys.historyRoot });
        if (this.stopped) return;
        this.applyList(reason, buildSnapshot(this.keys.prefix, this.numShards, kvs, revision));
        if (attempts > 0 && reason !== 'initial') this.metrics.onReconnect?.('reconnected');
        attempts = 0;
      } catch (err) {
        if (this.stopped) return;
        attempts++;
        if (reason !== 'initial') this.metrics.onReconnect?.('reload_failed');
        this.log.warn('listing the cluster prefix failed; retrying', { reason, attempts, err });
        this.setStatus({
          kind: 'reconnecting',
          since: this.state.kind === 'reconnecting' ? this.state.since : this.clock.now(),
          attempts,
          lastError: describeError(err),
        });
        this.pendingList ??= reason;
        await sleep(backoffDelay(attempts - 1, this.backoff.initial, this.backoff.max), this.abort.signal);
      }
    }
  }

  private applyList(reason: ListReason, next: ClusterSnapshot): void {
    const prev = this.snap;
    if (reason !== 'initial' && next.revision < prev.revision) {
      this.log.warn('etcd revision went backwards (data wiped or restored); replacing the snapshot', {
        before: prev.revision,
        after: next.revision,
      });
    }
    this.snap = next;
    this.metrics.onList?.(reason);
    this.startWatch(next.revision + 1);
    if (this.state.kind !== 'synced') this.setStatus({ kind: 'synced', revision: next.revision, since: this.clock.now() });
    this.publish({ snapshot: next, changes: reason === 'initial' ? [] : diffSnapshots(prev, next), cause: reason });
    this.firstLoad?.resolve();
    this.firstLoad = null;
    this.scheduleResync();
  }

  private startWatch(fromRevision: number): void {
    const gen = ++this.generation;
    const current = (): boolean => gen === this.generation && !this.stopped;
    this.watch = this.client.watchPrefix(this.keys.root, fromRevision, {
      onEvents: (events, revision) => {
        if (current()) this.onWatchEvents(events, revision);
      },
      onConnected: ({ revision }) => {
        if (!current()) return;
        if (revision < this.snap.revision) {
          // A fresh etcd would silently wait for our (future) revision: re-list instead.
          this.markStale(`etcd is at revision ${revision}, below ours (${this.snap.revision}): data wiped?`);
          this.requestList('wiped');
        } else if (this.state.kind === 'reconnecting') {
          this.metrics.onReconnect?.('reconnected');
          this.setStatus({ kind: 'synced', revision: this.snap.revision, since: this.clock.now() });
        }
      },
      onDisconnected: (err) => {
        if (current()) this.onWatchDisconnected(err);
      },
      onCancelled: (err) => {
        if (!current()) return;
        this.watch = null;
        this.markStale(`the watch ended at revision ${this.snap.revision} (compacted history, or a response too large): ${err.message}`);
        this.requestList('cancelled');
      },
    });
  }

  private onWatchEvents(events: readonly KvEvent[], revision: number): void {
    if (this.coalesceMs <= 0) return this.applyWatchEvents(events, revision);
    if (this.held === null) {
      this.held = { events: [...events], revision, timer: setTimeout(() => this.flushHeld(), this.coalesceMs) };
      return;
    }
    for (const e of events) this.held.events.push(e);
    this.held.revision = revision;
  }

  private flushHeld(): void {
    const held = this.held;
    this.held = null;
    if (held !== null) this.applyWatchEvents(held.events, held.revision);
  }

  private applyWatchEvents(events: readonly KvEvent[], revision: number): void {
    const { snapshot, changes } = applyEvents(this.snap, events, revision);
    this.snap = snapshot;
    this.publish({ snapshot, changes, cause: 'watch' });
  }

  private onWatchDisconnected(err: GoverseError): void {
    const attempts = this.state.kind === 'reconnecting' ? this.state.attempts + 1 : 1;
    const since = this.state.kind === 'reconnecting' ? this.state.since : this.clock.now();
    this.log.warn('etcd watch disconnected; resuming', { attempts, err });
    this.setStatus({ kind: 'reconnecting', since, attempts, lastError: describeError(err) });
  }

  private markStale(reason: string): void {
    this.log.warn('cluster view is stale; re-listing', { reason });
    this.setStatus({ kind: 'stale', since: this.clock.now(), reason });
  }

  private async replaceWatch(next: WatchHandle | null): Promise<void> {
    const old = this.watch;
    this.generation++;
    // Held events belong to the old watch: the list that replaces it was read after them and includes them.
    if (this.held !== null) clearTimeout(this.held.timer);
    this.held = null;
    this.watch = next;
    await old?.cancel();
  }

  private scheduleResync(): void {
    this.clearResyncTimer();
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null;
      this.requestList('periodic');
    }, this.resyncIntervalMs);
  }

  private clearResyncTimer(): void {
    if (this.resyncTimer !== null) clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
  }

  private setStatus(status: WatcherStatus): void {
    this.state = status;
    this.emit({ type: 'status', status });
  }

  private publish(update: SnapshotUpdate): void {
    this.emit({ type: 'snapshot', ...update });
  }

  private emit(event: WatcherEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log.error('cluster watcher listener threw', { event: event.type, err });
      }
    }
  }
}
