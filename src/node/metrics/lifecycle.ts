import type { MemberMetrics } from '../../cluster/member.js';
import type { MetricDeclarer } from './declare.js';

const SHARD_OP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const MIGRATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const WRITE_ERROR_TYPES = ['modrevision_conflict', 'timeout', 'connection_error', 'other'];

/** Shard lifecycle, the leader's decisions, the etcd watcher and the shard writer: the cluster member's hooks. */
export function declareLifecycleMetrics(m: MetricDeclarer, node: string): MemberMetrics {
  const claims = m.counter('goverse_shard_claims_total', 'Shards claimed by this node', ['node']);
  const releases = m.counter('goverse_shard_releases_total', 'Shards released by this node', ['node']);
  const claimDuration = m.histogram('goverse_shard_claim_duration_seconds', 'Duration of a claim round (shard locks plus the etcd write)', [], SHARD_OP_BUCKETS);
  const releaseDuration = m.histogram(
    'goverse_shard_release_duration_seconds',
    'Duration of a release round (shard locks, eviction with saves, the etcd write)',
    [],
    SHARD_OP_BUCKETS,
  );
  const migrationDuration = m.histogram(
    'goverse_shard_migration_duration_seconds',
    'End-to-end migration time, from the TargetNode change to the claim by this node',
    [],
    MIGRATION_BUCKETS,
  );
  const migrations = m.counter(
    'goverse_shard_migrations_total',
    "Migrations completed by this node's claims, counted once (by the claimer), by previous owner",
    ['from_node', 'to_node'],
  );
  const decisions = m.counter('goverse_rebalance_decisions_total', 'Leader decisions by outcome (reassign, recover, rebalance, skipped) and reason', [
    'outcome',
    'reason',
  ]);
  const interventions = m.counter('goverse_stuck_interventions_total', 'Leader interventions on stuck migrations, by action', ['action']);
  const reallocations = m.counter('goverse_shard_reallocations_total', 'Stuck shards the leader retargeted (upstream name), by original target', ['from_node']);
  const stuckDetected = m.counter('goverse_stuck_migrations_detected_total', 'Stuck migration episodes the leader detected (logged once each), by state', [
    'state',
  ]);
  const writeFailures = m.counter('goverse_shard_mapping_write_failures_total', 'Shard mapping writes that failed, by category', ['error_type']);
  const writeRetries = m.counter('goverse_shard_mapping_write_retries_total', 'Shard mapping transactions retried after a transient failure, by category', [
    'error_type',
  ]);
  const reconnects = m.counter('goverse_watch_reconnections_total', 'Watch recoveries: reconnected, or a failed re-list', ['node_addr', 'outcome']);
  const isLeader = m.gauge('goverse_node_is_leader', '1 while this node is the leader');
  for (const e of WRITE_ERROR_TYPES) writeFailures.inc({ error_type: e }, 0);

  return {
    claimed: (n, ms) => {
      claims.inc({ node }, n);
      claimDuration.observe(ms / 1000);
    },
    released: (n, ms) => {
      releases.inc({ node }, n);
      releaseDuration.observe(ms / 1000);
    },
    migrationCompleted: (ms, from) => {
      migrationDuration.observe(ms / 1000);
      migrations.inc({ from_node: from, to_node: node });
    },
    decision: (outcome, reason) => decisions.inc({ outcome, reason }),
    intervention: (kind, target) => {
      interventions.inc({ action: kind });
      if (kind === 'retarget') reallocations.inc({ from_node: target });
    },
    stuckDetected: (state) => stuckDetected.inc({ state }),
    leader: (leading) => isLeader.set(leading ? 1 : 0),
    watcher: { onReconnect: (outcome) => reconnects.inc({ node_addr: node, outcome }) },
    writer: {
      onWriteFailures: (category, shards) => writeFailures.inc({ error_type: category }, shards),
      onRetry: (category) => writeRetries.inc({ error_type: category }),
    },
  };
}
