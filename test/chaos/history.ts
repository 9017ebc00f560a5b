/**
 * What a chaos run records for the checker (checker.ts). Pure data: the runner fills it, the checker judges it,
 * the unit tests build synthetic ones. Every time is wall-clock epoch milliseconds, which the node processes and
 * the runner share (one machine).
 */
import type { ObjectLifecycleEvent } from '../../src/node/objects/lifecycleLog.js';

/** One line of a node's lifecycle event log. */
export type LifecycleEvent = ObjectLifecycleEvent;

/** One run of one goverse-node process: a node restarted on the same address is a new incarnation. */
export interface Incarnation {
  /** `n2#3`: node index 2, its third start. */
  readonly name: string;
  readonly address: string;
  readonly startedAt: number;
  /**
   * When the runner saw the process exit (after kill -9 or a graceful stop); null when it still runs at the end.
   * A killed process writes no deactivations: its objects count as active until this time.
   */
  readonly endedAt: number | null;
  readonly events: readonly LifecycleEvent[];
}

/** One increment (amount 1, unique request ID) a client sent, with every retry under the same request ID. */
export interface IncrementRecord {
  readonly counter: string;
  readonly requestId: string;
  /** When the first attempt was sent. */
  readonly sentAt: number;
  /** When the acknowledgement arrived; null when none did (the client gave up). */
  readonly ackedAt: number | null;
  /** The counter value the acknowledgement reported. */
  readonly value: number | null;
  /**
   * Some attempt got no HTTP response (timeout, reset), so the node may have applied it. An HTTP error response
   * means the call changed nothing (docs/PERSISTENCE.md), so an unacknowledged increment without such an attempt
   * must not be in the counter.
   */
  readonly maybeApplied: boolean;
}

/** A change of `<prefix>/shard/<id>` seen by the runner's watch (every revision, in order). */
export interface ShardChange {
  readonly time: number;
  readonly revision: number;
  readonly shard: number;
  /** Raw values; null when the key is absent. */
  readonly before: string | null;
  readonly after: string | null;
}

/** A shard value an operator action (pin, unpin, retarget, drain) wrote, or may have written (ambiguous failure). */
export interface OperatorWrite {
  readonly time: number;
  readonly action: string;
  readonly shard: number;
  readonly value: string;
}

/** One injected fault and its recovery. */
export interface FaultRecord {
  readonly kind: string;
  readonly detail: string;
  readonly startedAt: number;
  /** Recovery is timed from here (the injection, or for an etcd outage the moment etcd is back). */
  readonly measuredFrom: number;
  /** First moment the cluster was healthy again (test/chaos/README.md); null if it never was. */
  readonly recoveredAt: number | null;
  readonly boundMs: number;
}

/** A "hostile writes" episode and what the cluster wrote meanwhile (load reports and the hostile writes aside). */
export interface HostileEpisode {
  readonly startedAt: number;
  /** When the cluster had recovered from it. */
  readonly endedAt: number;
  readonly writes: number;
  /** Those writes by key directory (`shard`, `migration`, `rebalance`...). */
  readonly byDir: Readonly<Record<string, number>>;
}

export interface FinalState {
  /** Counter values read at the end; null when the counter could not be read. */
  readonly counters: ReadonlyMap<string, number | null>;
  /** Raw shard values at the end, indexed by shard ID (null: key absent). */
  readonly shards: readonly (string | null)[];
  /** Nodes registered in etcd whose process runs (and is not frozen) at the end. */
  readonly aliveNodes: readonly string[];
}

/** The cluster history (`<prefix>/history/`) as the runner's watch saw it, against the bounds the nodes were given. */
export interface HistoryBoundRecord {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  /** The most entries, and bytes of values, under the prefix at any revision of the run. */
  readonly maxCount: number;
  readonly maxBytes: number;
  /** Puts under the prefix over the run. */
  readonly appended: number;
  /** Read at the end, once the cluster settled (null: not read); `oldestAt` is the oldest entry's time. */
  readonly final: { readonly at: number; readonly count: number; readonly bytes: number; readonly oldestAt: number | null } | null;
  /** Why the watch may have missed revisions; null when it saw them all. */
  readonly gap: string | null;
}

export interface ChaosHistory {
  readonly seed: number;
  readonly startedAt: number;
  readonly incarnations: readonly Incarnation[];
  readonly increments: readonly IncrementRecord[];
  readonly shardChanges: readonly ShardChange[];
  readonly operatorWrites: readonly OperatorWrite[];
  readonly faults: readonly FaultRecord[];
  readonly hostile: readonly HostileEpisode[];
  readonly final: FinalState;
  /** Absent in histories built before the cluster history existed (and in synthetic ones). */
  readonly clusterHistory?: HistoryBoundRecord;
}
