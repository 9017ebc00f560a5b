/**
 * The rebalance pane, pure: why the balancer acts or does not act right now (its state and reason, a pause, the
 * imbalance figures it compares), then the timeline from the cluster history: shards moved per minute as a sparkline,
 * and the entries, newest first. The entries were decoded once as they arrived (HistoryTimeline); a frame only
 * windows them.
 */
import type { HistoryEntry } from '../../core/history/entry.js';
import { reasonText, shardsText } from '../../core/history/entryText.js';
import { movesPerMinute } from '../../core/history/timeline.js';
import { printable } from '../../core/text/printable.js';
import type { ClusterView } from '../../core/view/index.js';
import { compactAge } from '../text.js';
import type { Theme, Tone } from '../theme.js';
import type { Column, TableSpec } from './table.js';

/** The history as the console shows it: the entries of the last rebuild (frozen with the screen), oldest first. */
export interface HistoryView {
  readonly entries: readonly HistoryEntry[];
  /** Values under `history/` that are not entries. */
  readonly malformed: number;
}

export interface TimelineRow {
  readonly key: string;
  readonly entry: HistoryEntry;
  /** Age at the time of the view. */
  readonly agoMs: number;
}

export function timelineRows(history: HistoryView, now: number): TimelineRow[] {
  return history.entries.map((entry) => ({ key: entry.id, entry, agoMs: Math.max(0, now - entry.at) }));
}

const OUTCOME_TONES: Readonly<Record<string, Tone>> = { partial: 'warn', detected: 'bad', resolved: 'good', observed: 'muted' };

export const TIMELINE_COLUMNS: readonly Column<TimelineRow>[] = [
  { title: 'AGO', width: 6, align: 'right', sort: (r) => r.entry.at, text: (r) => compactAge(r.agoMs) },
  { title: 'ACTION', width: 9, sort: (r) => r.entry.action, text: (r) => r.entry.action },
  { title: 'SHARDS', width: 14, sort: (r) => r.entry.shardCount, text: (r) => shardsText(r.entry, 14) },
  { title: 'ACTOR', width: 18, sort: (r) => r.entry.actor, text: (r) => r.entry.actor },
  { title: 'OUTCOME', width: 8, sort: (r) => r.entry.outcome, text: (r) => r.entry.outcome, tone: (r) => OUTCOME_TONES[r.entry.outcome] },
  { title: 'REASON', width: 0, sort: (r) => r.entry.reason, text: (r) => reasonText(r.entry) },
];

export const TIMELINE_TABLE: TableSpec<TimelineRow> = { columns: TIMELINE_COLUMNS, key: (r) => r.key };

const SPARKS = '▁▂▃▄▅▆▇█';

/** One character per count: `▁` for none, then eight steps up to the largest. */
export function sparkline(counts: readonly number[]): string {
  const max = Math.max(0, ...counts);
  return counts.map((n) => (n === 0 || max === 0 ? SPARKS[0] : SPARKS[Math.max(1, Math.ceil((n / max) * (SPARKS.length - 1)))])).join('');
}

/** Shards moved per minute over as many minutes as fit (10 to 60), as a sparkline with its largest and total. */
export function movesLine(history: HistoryView, now: number, width: number): string {
  const minutes = Math.max(10, Math.min(60, width - 40));
  const counts = movesPerMinute(history.entries, now, minutes);
  const total = counts.reduce((a, b) => a + b, 0);
  return `moves/min, last ${minutes}m: ${sparkline(counts)} max ${Math.max(...counts)}, total ${total}`;
}

/** What the timeline says when it has no entries. */
export function emptyTimeline(view: ClusterView): string {
  return view.upstream.leader !== null
    ? 'no history: the leader is an upstream node, which writes none; moves seen here appear as observed'
    : 'no history entries yet';
}

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
