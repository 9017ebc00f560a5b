import { isPinned } from '../../core/keyspace/shardValue.js';
import { imbalance } from '../../core/planner/imbalance.js';
import { type FirstSeen, listMigrations, type Migration, stuckAmong, trackFirstSeen } from '../../core/planner/stuck.js';
import type { MetricDeclarer, MetricsSources } from './declare.js';

/**
 * Cluster-wide shard figures, computed from the etcd snapshot at scrape time (every node exports the same view), and
 * this node's readiness. Migration first sightings are kept across scrapes so moves without a record age too.
 */
export function declareClusterMetrics(m: MetricDeclarer, node: string): void {
  let firstSeen: ReadonlyMap<number, FirstSeen> = new Map();
  const migrations = (s: MetricsSources): Migration[] => {
    const snap = s.snapshot();
    const now = Date.now();
    firstSeen = trackFirstSeen(firstSeen, snap, now);
    return listMigrations(snap, firstSeen, now);
  };

  m.scraped('goverse_shards_total', 'Shards by CurrentNode, for every alive node (0 for nodes owning none); cluster-wide view', ['node'], (g, s) => {
    const snap = s.snapshot();
    const counts = new Map<string, number>([...snap.nodes.keys()].map((n) => [n, 0]));
    for (const e of snap.shards) if (e !== undefined && e.current !== '' && counts.has(e.current)) counts.set(e.current, counts.get(e.current)! + 1);
    for (const [node, n] of counts) g.set({ node }, n);
  });
  m.scraped('goverse_shards_migrating', 'Shards whose TargetNode and CurrentNode are both set and differ (upstream semantics)', [], (g, s) => {
    let n = 0;
    for (const e of s.snapshot().shards) if (e !== undefined && e.target !== '' && e.current !== '' && e.target !== e.current) n++;
    g.set(n);
  });
  m.scraped('goverse_shards_pinned', 'Shards carrying the pinned flag', [], (g, s) => {
    g.set(s.snapshot().shards.filter((e) => e !== undefined && isPinned(e)).length);
  });
  m.scraped(
    'goverse_shard_imbalance',
    'Target shards per eligible node: stat = max, min (shards), max_over_ideal, min_over_ideal and their ratio (against the weighted ideal)',
    ['stat'],
    (g, s) => {
      const f = imbalance(s.snapshot());
      g.set({ stat: 'max' }, f.maxTargets);
      g.set({ stat: 'min' }, f.minTargets);
      g.set({ stat: 'max_over_ideal' }, f.maxOverIdeal);
      g.set({ stat: 'min_over_ideal' }, f.minOverIdeal);
      g.set({ stat: 'ratio' }, f.minOverIdeal > 0 ? f.maxOverIdeal / f.minOverIdeal : 0);
    },
  );
  m.scraped(
    'goverse_shard_migration_age_seconds',
    'Age of each shard in migration (TargetNode != CurrentNode), from its migration record or first sighting',
    ['shard', 'state'],
    (g, s) => {
      // Every migration is dated here (from a record or from this node's first sighting); never an unknown age.
      for (const mig of migrations(s)) if (mig.ageMs !== null) g.set({ shard: String(mig.shardId), state: mig.state }, mig.ageMs / 1000);
    },
  );
  m.scraped('goverse_shards_in_migration', 'Shards in migration (TargetNode != CurrentNode, including released and unclaimed ones)', [], (g, s) => {
    g.set(migrations(s).length);
  });
  m.scraped('goverse_shards_stuck', 'Shards in migration for longer than the stuck timeout, by state', ['state'], (g, s) => {
    const counts = new Map<string, number>();
    for (const mig of stuckAmong(migrations(s), s.stuckTimeoutMs)) counts.set(mig.state, (counts.get(mig.state) ?? 0) + 1);
    for (const [state, n] of counts) g.set({ state }, n);
  });
  m.scraped(
    'goverse_cluster_leader',
    'The leader named by <prefix>/leader (1 for its address; 0 series absent when there is none)',
    ['leader', 'alive'],
    (g, s) => {
      const leader = s.snapshot().leader;
      if (leader) g.set({ leader: leader.address, alive: String(s.snapshot().nodes.has(leader.address)) }, 1);
    },
  );
  m.scraped('goverse_node_ready', "This node's /ready verdict (1 ready, 0 not)", [], (g, s) => g.set(s.readiness().ready ? 1 : 0));
  m.scraped('goverse_node_shards', 'Shards targeted at this node and those it has claimed and serves', ['node', 'kind'], (g, s) => {
    const ready = s.readiness();
    g.set({ node, kind: 'targeted' }, ready.targeted);
    g.set({ node, kind: 'claimed' }, ready.claimed);
  });
  m.scraped(
    'goverse_node_fenced',
    '1 while this node refuses to serve because its registration is lost or its etcd contact too old',
    [],
    (g, s) => g.set(s.readiness().registered ? 0 : 1),
  );
}
