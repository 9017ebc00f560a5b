import { isPinned } from '../keyspace/shardValue.js';
import { shardInLayout } from '../snapshot/layout.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import { compareAddresses, type Ineligibility, nodeWeight, plannerContext } from './context.js';

export interface NodeBalance {
  readonly address: string;
  /** `eligible`, the reason an alive node gets no targets, or `dead` for addresses only named by shards. */
  readonly status: 'eligible' | Ineligibility | 'dead';
  readonly weight: number;
  /** Shards whose TargetNode is this node. */
  readonly targets: number;
  /** Shards whose CurrentNode is this node. */
  readonly owned: number;
  readonly pinned: number;
  /** numShards * weight / Σ eligible weights; 0 for nodes that are not eligible. */
  readonly ideal: number;
  /** targets / ideal; null for nodes that are not eligible. */
  readonly targetsOverIdeal: number | null;
}

export interface ImbalanceFigures {
  /** Alive nodes and every address a shard names, byte-wise sorted. */
  readonly nodes: readonly NodeBalance[];
  /** Over eligible nodes (0 when there are none). */
  readonly maxTargets: number;
  readonly minTargets: number;
  readonly maxOverIdeal: number;
  readonly minOverIdeal: number;
  /** maxOverIdeal - minOverIdeal: what the weighted strategy compares with the imbalance threshold. */
  readonly spread: number;
  /** Shards without a target. */
  readonly unassigned: number;
  /** Shards targeted at nodes that are not eligible. */
  readonly misplaced: number;
}

/** Target and owner distribution against the weighted ideal, for metrics and the console. */
export function imbalance(snapshot: ClusterSnapshot): ImbalanceFigures {
  const ctx = plannerContext(snapshot);
  const rows = new Map<string, { targets: number; owned: number; pinned: number }>();
  const row = (address: string): { targets: number; owned: number; pinned: number } => {
    let r = rows.get(address);
    if (r === undefined) rows.set(address, (r = { targets: 0, owned: 0, pinned: 0 }));
    return r;
  };
  for (const address of ctx.alive) row(address);
  let unassigned = 0;
  let misplaced = 0;
  for (let id = 0; id < snapshot.numShards; id++) {
    const entry = snapshot.shards[id];
    if (entry === undefined && !shardInLayout(snapshot, id)) continue;
    if (entry === undefined || entry.target === '') unassigned++;
    else {
      const r = row(entry.target);
      r.targets++;
      if (isPinned(entry)) r.pinned++;
      if (!ctx.index.has(entry.target)) misplaced++;
    }
    if (entry !== undefined && entry.current !== '') row(entry.current).owned++;
  }
  const nodes: NodeBalance[] = [...rows]
    .sort(([a], [b]) => compareAddresses(a, b))
    .map(([address, r]) => {
      const eligible = ctx.index.has(address);
      const weight = nodeWeight(snapshot, address);
      const ideal = eligible ? (snapshot.numShards * weight) / ctx.totalWeight : 0;
      return {
        address,
        status: eligible ? 'eligible' : (ctx.ineligible.get(address) ?? 'dead'),
        weight,
        ...r,
        ideal,
        targetsOverIdeal: eligible ? r.targets / ideal : null,
      };
    });
  const eligibleRows = nodes.filter((n) => n.targetsOverIdeal !== null);
  const ratios = eligibleRows.map((n) => n.targetsOverIdeal!);
  const counts = eligibleRows.map((n) => n.targets);
  const maxOverIdeal = ratios.length > 0 ? Math.max(...ratios) : 0;
  const minOverIdeal = ratios.length > 0 ? Math.min(...ratios) : 0;
  return {
    nodes,
    maxTargets: counts.length > 0 ? Math.max(...counts) : 0,
    minTargets: counts.length > 0 ? Math.min(...counts) : 0,
    maxOverIdeal,
    minOverIdeal,
    spread: maxOverIdeal - minOverIdeal,
    unassigned,
    misplaced,
  };
}
