/**
 * The nodes pane, pure: one row per node, sortable by any column. State codes in the style of nodetool's `UN`/`DN`
 * (first letter up or down, second the role) so a row reads without colour.
 */
import type { ClusterView, NodeView } from '../../core/view/index.js';
import { compactMs, compactNumber } from '../text.js';
import type { Column, TableSpec } from './table.js';

/** U/D: alive or not; then L leader, D draining, S stopping, N normal. */
export function nodeStateCode(n: NodeView): string {
  const role = n.leader ? 'L' : n.draining ? 'D' : n.stopping ? 'S' : 'N';
  return `${n.alive ? 'U' : 'D'}${role}`;
}

/** Metrics column: `ok`, `old` (stale: not answered lately), or why not (`down`, `bad`, `-` when not scraped). */
export function metricsCode(n: NodeView): string {
  switch (n.metrics.kind) {
    case 'ok':
      return 'ok';
    case 'stale':
      return 'old';
    case 'unreachable':
      return 'down';
    case 'malformed':
      return 'bad';
    case 'none':
      return '-';
  }
}

const yesNo = (v: boolean | null): string => (v === null ? '-' : v ? 'yes' : 'no');

export const NODE_COLUMNS: readonly Column<NodeView>[] = [
  { title: 'NODE', width: 0, sort: (n) => n.index, text: (n) => n.address },
  {
    title: 'ST',
    width: 2,
    sort: (n) => nodeStateCode(n),
    text: nodeStateCode,
    tone: (n) => (!n.alive ? 'bad' : n.draining || n.stopping ? 'warn' : n.leader ? 'accent' : undefined),
  },
  { title: 'RDY', width: 3, sort: (n) => (n.ready === null ? null : Number(n.ready)), text: (n) => yesNo(n.ready), tone: (n) => (n.ready === false ? 'warn' : undefined) },
  {
    title: 'TGT/IDEAL',
    width: 10,
    align: 'right',
    sort: (n) => n.targetsOverIdeal ?? n.shardsTarget,
    text: (n) => (n.ideal > 0 ? `${n.shardsTarget}/${Math.round(n.ideal)}` : `${n.shardsTarget}/-`),
    tone: (n) => (n.targetsOverIdeal !== null && Math.abs(n.targetsOverIdeal - 1) > 0.2 ? 'warn' : undefined),
  },
  { title: 'OWN', width: 5, align: 'right', sort: (n) => n.shardsOwned, text: (n) => String(n.shardsOwned) },
  { title: 'OBJ', width: 5, align: 'right', sort: (n) => n.objects, text: (n) => compactNumber(n.objects) },
  { title: 'CALL/s', width: 6, align: 'right', sort: (n) => n.callRate, text: (n) => compactNumber(n.callRate) },
  { title: 'LKp99', width: 6, align: 'right', sort: (n) => n.lockWaitP99Ms, text: (n) => compactMs(n.lockWaitP99Ms) },
  { title: 'WL', width: 3, align: 'right', sort: (n) => n.writeLocksHeld, text: (n) => compactNumber(n.writeLocksHeld) },
  {
    title: 'MET',
    width: 4,
    sort: (n) => metricsCode(n),
    text: metricsCode,
    tone: (n) => (n.metrics.kind === 'unreachable' || n.metrics.kind === 'malformed' ? 'bad' : n.metrics.kind === 'stale' ? 'warn' : undefined),
  },
];

export const NODES_TABLE: TableSpec<NodeView> = { columns: NODE_COLUMNS, key: (n) => n.address };

/** The pane title's summary: counts a glance needs. */
export function nodesTitle(view: ClusterView): string {
  const { alive, total, draining, cannotFollow } = view.nodeCounts;
  // Ineligible while the count changes or has changed: they route with a count the cluster no longer uses.
  return `${alive}/${total} alive${draining > 0 ? `, ${draining} draining` : ''}${cannotFollow > 0 ? `, ${cannotFollow} cannot follow the shard count (no shards)` : ''}`;
}
