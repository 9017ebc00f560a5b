/**
 * The stuck-migrations pane, pure: shards in migration past the stuck timeout, oldest first, with the age buckets
 * operators compare against their timeouts (peers use 30 s to 60 s) in the title.
 */
import type { StuckShard } from '../../core/planner/stuck.js';
import type { ClusterView } from '../../core/view/index.js';
import { compactAge, migrationAgeText } from '../text.js';
import type { Column, TableSpec } from './table.js';

export const STUCK_COLUMNS: readonly Column<StuckShard>[] = [
  { title: 'SHARD', width: 5, align: 'right', sort: (s) => s.shardId, text: (s) => String(s.shardId) },
  { title: 'AGE', width: 6, align: 'right', sort: (s) => s.ageMs ?? s.seenForMs, text: migrationAgeText, tone: () => 'bad' },
  { title: 'STATE', width: 19, sort: (s) => s.state, text: (s) => `${s.state}${s.pinned ? '*' : ''}` },
  { title: 'TARGET', width: 15, sort: (s) => s.target, text: (s) => s.target || '-' },
  { title: 'CURRENT', width: 15, sort: (s) => s.current, text: (s) => s.current || '-' },
  { title: 'REASON', width: 0, sort: (s) => s.reason, text: (s) => s.reason },
];

export const STUCK_TABLE: TableSpec<StuckShard> = { columns: STUCK_COLUMNS, key: (s) => String(s.shardId) };

const BUCKETS: readonly (readonly [string, number])[] = [
  ['<1m', 60_000],
  ['1-5m', 300_000],
  ['5-30m', 1_800_000],
  ['>30m', Number.POSITIVE_INFINITY],
];
/** Stuck shards whose age is unknown (no migration record) have a bucket of their own, after the others. */
const UNKNOWN_BUCKET = BUCKETS.length;

/**
 * `12 past 1m00s of 40 unsettled │ <1m 0 · 1-5m 3 ... · ? 2`: how many shards are stuck and for how long (`?`: age
 * unknown, no migration record), with the timeout
 * in use, out of the shards that could be (`view.migrations`: TargetNode ≠ CurrentNode, or pinned to a dead node).
 * Not "migrating": that is one shard state, the figure the header and `status` give.
 */
export function stuckTitle(view: ClusterView): string {
  const counts = [...BUCKETS, null].map(() => 0);
  for (const s of view.stuck) counts[s.ageMs === null ? UNKNOWN_BUCKET : BUCKETS.findIndex(([, upTo]) => s.ageMs! < upTo)]!++;
  const buckets = [...BUCKETS.map(([label], i) => `${label} ${counts[i]}`), `? ${counts[UNKNOWN_BUCKET]}`].join(' · ');
  return `${view.stuck.length} past ${compactAge(view.stuckTimeoutMs)} of ${view.migrations.length} unsettled │ ${buckets} │ * pinned`;
}
