/**
 * The locks pane, pure: a per-node summary (acquisitions, wait p99, write locks held, timeouts), worst first, above
 * the hottest shards across all nodes, which is the selectable list (shard keys act on them).
 */
import type { ClusterView, HotShardView, NodeView } from '../../core/view/index.js';
import { compactMs, compactNumber, fit } from '../text.js';
import type { Theme } from '../theme.js';
import type { Column, TableSpec } from './table.js';

export const HOT_SHARD_COLUMNS: readonly Column<HotShardView>[] = [
  { title: 'SHARD', width: 5, align: 'right', sort: (h) => h.shardId, text: (h) => String(h.shardId) },
  { title: 'NODE', width: 0, sort: (h) => h.node, text: (h) => h.node },
  { title: 'WAITS', width: 6, align: 'right', sort: (h) => h.waits, text: (h) => compactNumber(h.waits) },
  { title: 'WAITED', width: 7, align: 'right', sort: (h) => h.waitSeconds, text: (h) => compactMs(h.waitSeconds * 1000) },
  { title: 'MAX', width: 7, align: 'right', sort: (h) => h.maxWaitSeconds, text: (h) => compactMs(h.maxWaitSeconds * 1000) },
  {
    title: 'TMO',
    width: 5,
    align: 'right',
    sort: (h) => h.timeouts,
    text: (h) => compactNumber(h.timeouts),
    tone: (h) => (h.timeouts > 0 ? 'bad' : undefined),
  },
];

export const HOT_SHARDS_TABLE: TableSpec<HotShardView> = { columns: HOT_SHARD_COLUMNS, key: (h) => `${h.shardId}@${h.node}` };

/** Lines of the per-node summary: a header and the `rows` nodes with the worst wait p99 (then most timeouts). */
export function nodeLockLines(view: ClusterView, rows: number, width: number, theme: Theme): string[] {
  const nodes = worstFirst(view.nodes);
  const nameWidth = Math.max(8, width - 4 * 10);
  const row = (cells: readonly string[]): string => [fit(cells[0]!, nameWidth), ...cells.slice(1).map((c) => fit(c, 9, 'right'))].join(' ');
  const lines = [theme.bold(row(['NODE', 'ACQUIRED', 'WAIT p99', 'WLOCKS', 'TIMEOUTS']))];
  for (const n of nodes.slice(0, Math.max(0, rows - 1))) lines.push(nodeLine(n, row, theme));
  if (nodes.length > rows - 1 && rows > 1) lines[lines.length - 1] = theme.tone(`… ${nodes.length - rows + 2} more nodes (worst first)`, 'muted');
  return lines;
}

/** Alive nodes, worst wait p99 first, per node list (the list is the same object while no row changed). */
const rankings = new WeakMap<readonly NodeView[], readonly NodeView[]>();

function worstFirst(all: readonly NodeView[]): readonly NodeView[] {
  let nodes = rankings.get(all);
  if (nodes === undefined) {
    nodes = all
      .filter((n) => n.alive)
      .sort((a, b) => (b.lockWaitP99Ms ?? -1) - (a.lockWaitP99Ms ?? -1) || (b.lockTimeouts ?? 0) - (a.lockTimeouts ?? 0) || a.index - b.index);
    rankings.set(all, nodes);
  }
  return nodes;
}

function nodeLine(n: NodeView, row: (cells: readonly string[]) => string, theme: Theme): string {
  const text = row([
    n.address,
    compactNumber(n.lockAcquisitions),
    compactMs(n.lockWaitP99Ms),
    compactNumber(n.writeLocksHeld),
    compactNumber(n.lockTimeouts),
  ]);
  return (n.lockTimeouts ?? 0) > 0 ? theme.tone(text, 'warn') : text;
}
