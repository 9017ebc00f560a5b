import type { ClusterChange } from '../core/snapshot/snapshot.js';

/**
 * The stability clock of upstream's IsStateStable (reference core 2.4), minus its defects 6-8: it restarts only when
 * the set of alive nodes changes. Gate churn, leader changes and re-puts of an already known node leave it alone,
 * and every process (the new leader included) applies the same rule to the same watch events.
 */
export class StabilityClock {
  private changedAt: number;

  constructor(startedAt: number) {
    // A fresh process has not seen the membership settle yet, as upstream's initial load.
    this.changedAt = startedAt;
  }

  observe(changes: readonly ClusterChange[], now: number): void {
    if (changes.some((c) => c.kind === 'node-joined' || c.kind === 'node-left')) this.changedAt = now;
  }

  /** Monotonic time of the last membership change. */
  get since(): number {
    return this.changedAt;
  }
}
