/**
 * Object activation and deactivation events, for the fault-injection checker (issue 9): it proves that no object
 * was active on two nodes at overlapping times. Times are wall-clock epoch milliseconds, comparable between the
 * node processes of one machine. An object counts as active from the start of its activation (before its row's
 * epoch is raised) until its deactivation is complete; a fenced deactivation is dated at the fence time, when the
 * node stopped being able to serve, not when the eviction code ran.
 */
export type ActivationReason = 'call' | 'create' | 'delete';

export type DeactivationReason =
  /** The runtime evicted the shard (migration, lost target) after saving. */
  | 'evicted'
  /** Graceful stop, after saving. */
  | 'shutdown'
  /** The node was fenced: dropped without saving. */
  | 'fenced'
  | 'deleted'
  /** A save found a newer owner's epoch on the row: this copy is obsolete. */
  | 'superseded'
  /** The shard's epoch changed under an active object (re-claimed without an eviction): saved, then reloaded. */
  | 'epoch-changed';

interface EventBase {
  readonly time: number;
  readonly node: string;
  readonly type: string;
  readonly id: string;
  /** Null for fixed-node objects. */
  readonly shard: number | null;
  readonly epoch: number;
}

export type ObjectLifecycleEvent =
  | (EventBase & { readonly event: 'activated'; readonly reason: ActivationReason })
  | (EventBase & {
      readonly event: 'deactivated';
      readonly reason: DeactivationReason;
      /** True when the store held the object's final state (saved now or already current); false when dropped. */
      readonly saved: boolean;
    });

export interface LifecycleSink {
  record(event: ObjectLifecycleEvent): void;
}
