import type { Clock } from '../core/clock.js';
import { AbortedError, describeError } from '../core/errors.js';
import type { Keyspace } from '../core/keyspace/keys.js';
import type { Logger } from '../core/log/logger.js';
import type { FencingMode } from '../core/planner/settings.js';
import { type EtcdClient, LeaseNotFoundError } from '../edge/etcd/client.js';
import { backoffDelay, sleep } from '../edge/timing.js';
import { Fence } from './fence.js';

export interface MembershipOptions {
  readonly client: EtcdClient;
  readonly keys: Keyspace;
  readonly address: string;
  readonly ttlSeconds: number;
  /** Serving stops this long before the lease could expire on the server. */
  readonly fenceMarginMs: number;
  readonly fencing: FencingMode;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onRegistered?: (info: { leaseId: string; revision: number }) => void;
  readonly onFenced?: (info: { reason: string; since: number }) => void;
}

/**
 * Keeps this node registered under a lease and judges, with its own timing, whether it may serve.
 *
 * Keepalives go out every TTL/3, counted from send to send. A failed keepalive is retried on the same lease (no revoke-and-regrant churn that
 * would make everyone see the node leave and join). Only when etcd says the lease is gone does the node register
 * again under a new lease. The Fence stops serving TTL - margin after the last acknowledged keepalive was sent, even
 * if no timer ran in between (a frozen process is judged when it thaws).
 */
export class Membership {
  readonly fence: Fence;
  /** Keys kept under the lease besides the node key (nodeinfo, load...): re-put after a re-registration. */
  private readonly leased = new Map<string, string>();
  private readonly abort = new AbortController();
  private leaseId: string | null = null;
  private loop: Promise<void> | null = null;
  private fenceNotified = false;
  private wake: (() => void) | null = null;
  private readonly log: Logger;

  constructor(private readonly options: MembershipOptions) {
    this.fence = new Fence(options.clock, options.ttlSeconds * 1000 - options.fenceMarginMs, options.fencing);
    this.log = options.logger.child({ component: 'membership' });
    if (options.fencing === 'disabled-for-tests') this.log.error('GOVERSE_TEST_DISABLE_FENCING=1: fencing is OFF (a test-only switch); this node is unsafe');
  }

  get nodeKey(): string {
    return this.options.keys.node(this.options.address);
  }

  get currentLeaseId(): string | null {
    return this.leaseId;
  }

  /** Registers (retrying until it succeeds or `signal` aborts) and starts the keepalive loop. */
  async start(signal?: AbortSignal): Promise<void> {
    const abortAll = (): void => this.abort.abort();
    signal?.addEventListener('abort', abortAll, { once: true });
    try {
      await this.registerUntilDone();
    } finally {
      signal?.removeEventListener('abort', abortAll);
    }
    this.loop = this.keepAliveLoop();
  }

  /** Sets a key kept under this node's lease (written now when registered, and on every re-registration). */
  async putLeased(key: string, value: string): Promise<void> {
    this.leased.set(key, value);
    const lease = this.leaseId;
    if (lease !== null && this.fence.isServing()) {
      await this.options.client.put(key, value, { lease, signal: this.abort.signal });
    }
  }

  /** Stops the keepalive loop, deletes the node's keys and revokes its lease. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
    const lease = this.leaseId;
    this.leaseId = null;
    this.fence.trip('stopped');
    if (lease === null) return;
    try {
      // Revoking deletes every key attached to the lease at once: one event for watchers, no TTL wait.
      await this.options.client.revokeLease(lease, { timeoutMs: 3000 });
    } catch (err) {
      this.log.warn('could not revoke the lease on stop; it expires by itself', { err, lease });
    }
  }

  private async registerUntilDone(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.abort.signal.aborted) throw new AbortedError('registration aborted');
      try {
        await this.register();
        return;
      } catch (err) {
        if (this.abort.signal.aborted) throw new AbortedError('registration aborted', { cause: err });
        const delay = backoffDelay(attempt, 100, 2000);
        this.log.warn('registration failed; retrying', { err: describeError(err), delayMs: Math.round(delay) });
        await sleep(delay, this.abort.signal);
      }
    }
  }

  /**
   * Puts the node key and the leased records. Reuses `existingLease` when it is still alive (a node fenced by its
   * own timer whose lease survived), otherwise grants a new lease.
   */
  private async register(existingLease: string | null = null): Promise<void> {
    const { client, ttlSeconds, clock, address } = this.options;
    const sentAt = clock.monotonic();
    let lease = existingLease;
    if (lease !== null) {
      try {
        await client.keepAliveOnce(lease, { signal: this.abort.signal });
      } catch (err) {
        if (!(err instanceof LeaseNotFoundError)) throw err;
        lease = null;
      }
    }
    const granted = lease === null;
    lease ??= (await client.grantLease(ttlSeconds, { signal: this.abort.signal })).id;
    try {
      const { revision } = await client.txn(
        {
          compares: [],
          success: [
            { type: 'put', key: this.nodeKey, value: address, lease },
            ...[...this.leased].map(([key, value]) => ({ type: 'put' as const, key, value, lease })),
          ],
        },
        { signal: this.abort.signal },
      );
      this.leaseId = lease;
      this.fenceNotified = false;
      this.fence.registered(lease, revision, sentAt);
      this.log.info('registered', { lease, revision, ttlSeconds });
      this.options.onRegistered?.({ leaseId: lease, revision });
    } catch (err) {
      // Do not leave an orphan lease behind a failed registration.
      if (granted) await client.revokeLease(lease, { timeoutMs: 1000 }).catch(() => undefined);
      throw err;
    }
  }

  private async keepAliveLoop(): Promise<void> {
    const { client, clock, ttlSeconds } = this.options;
    const period = (ttlSeconds * 1000) / 3;
    let failures = 0;
    // Keepalives go out one period after the previous one was sent, not after it was answered: a slow etcd must not
    // stretch the interval by its latency, or the fence (counted from the send) would trip although etcd answers.
    let nextAt = clock.monotonic() + period;
    while (!this.abort.signal.aborted) {
      await this.sleepInterruptibly(failures === 0 ? Math.max(0, nextAt - clock.monotonic()) : Math.min(period, backoffDelay(failures - 1, 100, 1000)));
      if (this.abort.signal.aborted) return;
      if (!this.fence.isServing()) {
        // Fenced (the lease is gone, or contact is too old, possibly while this process was frozen): tell the
        // runtime first, so it drops its shards, then come back under the same lease if it survived, else a new one.
        this.notifyFenced();
        const startedAt = clock.monotonic();
        try {
          await this.register(this.leaseId);
          failures = 0;
          nextAt = startedAt + period;
        } catch (err) {
          if (this.abort.signal.aborted) return;
          failures++;
          this.log.warn('re-registration failed; retrying', { err: describeError(err), failures });
        }
        continue;
      }
      const lease = this.leaseId!;
      const sentAt = clock.monotonic();
      nextAt = sentAt + period;
      try {
        await client.keepAliveOnce(lease, { signal: this.abort.signal, timeoutMs: Math.max(500, period) });
        this.fence.contact(sentAt);
        failures = 0;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        failures++;
        if (err instanceof LeaseNotFoundError) {
          this.leaseId = null;
          this.fence.trip('lease expired or revoked in etcd');
        } else {
          this.log.warn('keepalive failed; retrying on the same lease', { err: describeError(err), failures });
        }
      }
    }
  }

  /** Reports a fence episode once. */
  private notifyFenced(): void {
    if (this.fenceNotified) return;
    this.fenceNotified = true;
    const state = this.fence.current;
    const since = state.kind === 'fenced' ? state.since : this.options.clock.monotonic();
    const reason = state.kind === 'fenced' ? state.reason : 'not registered';
    this.log.error('fenced: this node stops serving its shards until it has registered again', { reason });
    this.options.onFenced?.({ reason, since });
  }

  private async sleepInterruptibly(ms: number): Promise<void> {
    // stop() aborts and then wakes the sleeper; a per-sleep controller leaves no listener behind.
    const wake = new AbortController();
    this.wake = () => wake.abort();
    if (!this.abort.signal.aborted) await sleep(ms, wake.signal);
    this.wake = null;
  }
}
