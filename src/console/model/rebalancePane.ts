/**
 * The rebalance pane, pure: why the balancer acts or does not act right now (its state and reason, a pause, the
 * imbalance figures it compares), above the timeline of its recent decisions and moves.
 */
import type { BalancerDecisionRecord } from '../../core/keyspace/records.js';
import { printable } from '../../core/text/printable.js';
import type { ClusterView } from '../../core/view/index.js';
import { compactAge } from '../text.js';
import type { Theme } from '../theme.js';
import type { Column, TableSpec } from './table.js';

export interface DecisionRow extends BalancerDecisionRecord {
  readonly key: string;
  /** Age at the time of the view. */
  readonly agoMs: number;
}

export function decisionRows(view: ClusterView): DecisionRow[] {
  return view.balancer.recent.map((d, i) => ({ ...d, key: `${d.at}:${i}`, agoMs: Math.max(0, view.now - d.at) }));
}

export const DECISION_COLUMNS: readonly Column<DecisionRow>[] = [
  { title: 'AGO', width: 7, align: 'right', sort: (d) => d.at, text: (d) => compactAge(d.agoMs) },
  { title: 'OUTCOME', width: 10, sort: (d) => d.outcome, text: (d) => d.outcome },
  { title: 'STRATEGY', width: 8, sort: (d) => d.strategy, text: (d) => d.strategy },
  { title: 'MOVES', width: 5, align: 'right', sort: (d) => d.moves.length, text: (d) => String(d.moves.length) },
  { title: 'REASON', width: 0, sort: (d) => d.reason, text: (d) => d.reason },
];

export const DECISIONS_TABLE: TableSpec<DecisionRow> = { columns: DECISION_COLUMNS, key: (d) => d.key };

/** The balancer's state in a few lines, above the timeline; the `P` hint only where the key works. Its strings come from etcd. */
export function balancerLines(view: ClusterView, theme: Theme, readOnly: boolean): string[] {
  const b = view.balancer;
  const im = view.imbalance;
  const source =
    b.source === 'leader'
      ? `published by the leader ${printable(b.leader ?? '?')} ${compactAge(view.now - b.at)} ago, strategy ${b.strategy}`
      : `computed here (no status from a live leader), strategy ${b.strategy}`;
  const pause =
    b.pause === null
      ? `pause: none${readOnly ? '' : ' (P pauses rebalancing for 10m)'}`
      : theme.tone(
          `pause: PAUSED by ${printable(b.pause.by)} until ${new Date(b.pause.until).toISOString()}, ${compactAge(b.pause.remainingMs)} left${b.pause.reason === '' ? '' : `: ${printable(b.pause.reason)}`}`,
          'warn',
        );
  return [
    `${theme.bold(`state ${b.state}`)}: ${printable(b.reason)}`,
    `source: ${source}`,
    pause,
    `imbalance: targets/ideal max ${im.maxOverIdeal.toFixed(2)} min ${im.minOverIdeal.toFixed(2)} spread ${im.spread.toFixed(2)}; targets max ${im.maxTargets} min ${im.minTargets}; unassigned ${im.unassigned}, misplaced ${im.misplaced}`,
    `migrations in flight ${view.counts.inMigration}, stuck ${view.counts.stuck}`,
    decisionCountsLine(view),
  ];
}

/** Leader decisions by outcome and reason from the nodes' metrics (counted since each node started), most first. */
function decisionCountsLine(view: ClusterView): string {
  const counts = view.decisions;
  if (counts.length === 0) return 'decisions by reason: none in the nodes\' metrics';
  const text = counts.map((d) => `${d.outcome === 'skipped' ? `skipped ${d.reason}` : d.outcome} ${d.count}`).join(' · ');
  return `decisions by reason: ${printable(text)}`;
}
