import type { Clock } from '../core/clock.js';
import type { FencingMode } from '../core/planner/settings.js';

/**
 * Whether this node may serve its shards, judged from its own contact with etcd.
 *
 * `contactAt` is the monotonic time a keepalive that etcd acknowledged *was sent*. etcd extends the lease when it
 * processes that request, so the lease cannot expire before `contactAt + ttl`. Serving stops at
 * `contactAt + ttl - margin`, strictly earlier, so by the time any other node can see this node gone (and claim its
 * shards) this node has already stopped serving, even if it was frozen or partitioned in between.
 */
export type FenceState =
  | { readonly kind: 'unregistered' }
  | { readonly kind: 'registered'; readonly leaseId: string; readonly registeredRevision: number; readonly contactAt: number }
  | { readonly kind: 'fenced'; readonly since: number; readonly reason: string };

export class Fence {
  private state: FenceState = { kind: 'unregistered' };

  constructor(
    private readonly clock: Clock,
    /** Lease TTL minus the safety margin, in milliseconds. */
    private readonly serveWindowMs: number,
    /**
     * `disabled-for-tests` (never outside the chaos suite) leaves a node frozen or cut off from etcd serving until
     * etcd itself says its lease is gone, while other nodes may already have claimed its shards: the suite's broken
     * build, which shows that its checker catches the double activations this causes (test/chaos/README.md).
     */
    private readonly mode: FencingMode,
  ) {}

  get current(): FenceState {
    this.expireIfDue();
    return this.state;
  }

  /** True while this node may serve: registered and in contact within the window. Computed at call time. */
  isServing(): boolean {
    return this.current.kind === 'registered';
  }

  /** Monotonic time at which serving stops unless contact is renewed (null when not serving). */
  servingUntil(): number | null {
    const s = this.current;
    return s.kind === 'registered' ? s.contactAt + this.serveWindowMs : null;
  }

  registered(leaseId: string, registeredRevision: number, contactAt: number): void {
    this.state = { kind: 'registered', leaseId, registeredRevision, contactAt };
  }

  /** Records an acknowledged keepalive sent at `sentAt` (monotonic). Ignored when not registered. */
  contact(sentAt: number): void {
    const s = this.current;
    if (s.kind === 'registered' && sentAt > s.contactAt) this.state = { ...s, contactAt: sentAt };
  }

  /** Stops serving now (lease lost, or stop). `since` defaults to now. */
  trip(reason: string, since: number = this.clock.monotonic()): void {
    if (this.state.kind === 'fenced') return;
    this.state = { kind: 'fenced', since, reason };
  }

  private expireIfDue(): void {
    const s = this.state;
    if (s.kind !== 'registered' || this.mode === 'disabled-for-tests') return;
    const until = s.contactAt + this.serveWindowMs;
    if (this.clock.monotonic() >= until) {
      this.state = { kind: 'fenced', since: until, reason: 'no etcd contact within the lease TTL minus margin' };
    }
  }
}
