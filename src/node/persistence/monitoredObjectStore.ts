import { systemClock, type Clock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import { LogThrottle } from '../../core/log/throttle.js';
import type { Logger } from '../../core/log/logger.js';
import type { ClusterBinding } from './clusterBinding.js';
import { PersistenceError } from './errors.js';
import type { LoadedState, ObjectKey, ObjectStore } from './objectStore.js';

/** The store operations counted in `goverse_persistence_errors_total{op}`. */
export type StoreOp = 'load' | 'save' | 'delete' | 'probe';

/**
 * `failing` from a failed write until a save or a probe succeeds: `/ready` answers 503 meanwhile. `bytes` is the
 * largest write that failed, the size the probe writes (a small write can fit where a large one does not).
 */
export type StoreHealth =
  | { readonly kind: 'ok' }
  | {
      readonly kind: 'failing';
      /** Wall-clock ms of the first failure of this episode. */
      readonly since: number;
      readonly op: StoreOp;
      readonly code: string;
      readonly message: string;
      readonly failures: number;
      readonly bytes: number;
    };

export interface MonitoredObjectStoreOptions {
  readonly logger: Logger;
  /** Counts a failure (the metric). */
  readonly onError: (op: StoreOp, code: string) => void;
  readonly clock?: Clock;
  /** Pause between probes while failing. Default 1 s. */
  readonly probeIntervalMs?: number;
  /** At most one warning per store error code per interval. Default 10 s. */
  readonly logIntervalMs?: number;
}

/** A probe writes at most this much, whatever the failed write's size. */
const MAX_PROBE_BYTES = 4 * 1024 * 1024;

/**
 * Makes store failures visible, for any ObjectStore: each failure is counted by operation and store code, logged
 * (rate-limited per code, with the number held back) and turns the health to `failing`. While failing, a probe
 * write runs every interval, so the health returns to `ok` by itself once the store accepts writes again, even with
 * no traffic (a node that is not ready may get none). Errors pass through unchanged: a failed save fails its call.
 * StaleEpochError is fencing, not a failure of the store.
 */
export class MonitoredObjectStore implements ObjectStore {
  private state: StoreHealth = { kind: 'ok' };
  private probeTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly clock: Clock;
  private readonly throttle: LogThrottle;
  private readonly probeIntervalMs: number;

  constructor(
    private readonly inner: ObjectStore,
    private readonly options: MonitoredObjectStoreOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.throttle = new LogThrottle(options.logIntervalMs ?? 10_000);
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
  }

  health(): StoreHealth {
    return this.state;
  }

  bindCluster(cluster: string, adoptFrom?: string): Promise<ClusterBinding> {
    return this.inner.bindCluster(cluster, adoptFrom);
  }

  load(key: ObjectKey, epoch: number, initialState: string): Promise<LoadedState> {
    return this.watch('load', key, initialState, () => this.inner.load(key, epoch, initialState));
  }

  async save(key: ObjectKey, epoch: number, state: string): Promise<void> {
    await this.watch('save', key, state, () => this.inner.save(key, epoch, state));
    this.recovered();
  }

  delete(key: ObjectKey, epoch: number): Promise<boolean> {
    return this.watch('delete', key, '', () => this.inner.delete(key, epoch));
  }

  probe(bytes: number): Promise<void> {
    return this.inner.probe(bytes);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probeTimer !== null) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    await this.inner.close();
  }

  /** `payload`: what the operation writes; its size is taken only when it fails. */
  private async watch<T>(op: StoreOp, key: ObjectKey | null, payload: string | number, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof PersistenceError) this.failed(op, key, typeof payload === 'number' ? payload : Buffer.byteLength(payload), err);
      throw err;
    }
  }

  private failed(op: StoreOp, key: ObjectKey | null, bytes: number, err: PersistenceError): void {
    const code = err.storeCode ?? 'unknown';
    this.options.onError(op, code);
    const suppressed = this.throttle.admit(code, this.clock.monotonic());
    if (suppressed !== null) {
      this.options.logger.warn('object store write failed', {
        op,
        code,
        ...(key === null ? {} : { object: `${key.type}/${key.id}` }),
        retriable: err.retriable,
        suppressed,
        err,
      });
    }
    const prev = this.state;
    this.state = {
      kind: 'failing',
      since: prev.kind === 'failing' ? prev.since : this.clock.now(),
      op,
      code,
      message: describeError(err),
      failures: (prev.kind === 'failing' ? prev.failures : 0) + 1,
      bytes: Math.min(MAX_PROBE_BYTES, Math.max(bytes, prev.kind === 'failing' ? prev.bytes : 0)),
    };
    this.scheduleProbe();
  }

  private recovered(): void {
    const prev = this.state;
    if (prev.kind === 'ok') return;
    this.state = { kind: 'ok' };
    this.options.logger.info('object store accepts writes again', {
      failures: prev.failures,
      failingForMs: this.clock.now() - prev.since,
    });
  }

  private scheduleProbe(): void {
    if (this.probeTimer !== null || this.closed) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      const prev = this.state;
      if (prev.kind === 'ok' || this.closed) return;
      this.watch('probe', null, prev.bytes, () => this.inner.probe(prev.bytes)).then(
        () => this.recovered(),
        () => this.scheduleProbe(),
      );
    }, this.probeIntervalMs);
    this.probeTimer.unref();
  }
}
