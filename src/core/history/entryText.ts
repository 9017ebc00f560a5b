/**
 * History entries in words, for the CLI's tables and the console's timeline (pure; callers show the strings
 * printable, since they come from etcd).
 */
import type { HistoryEntry } from './entry.js';
import { formatShardRanges, rangesCount } from './shardRanges.js';

/** The shards an entry is about: their list when it is short and whole, else how many (`…` when a list was cut). */
export function shardsText(entry: HistoryEntry, max: number): string {
  if (entry.shardCount === 0) return '';
  const ranges = [...(entry.shards.length > 0 ? entry.shards : entry.moves.flatMap((m) => m.shards))].sort((a, b) => a[0] - b[0]);
  const whole = rangesCount(ranges) === entry.shardCount;
  const text = formatShardRanges(ranges);
  if (whole && text.length <= max) return text;
  return `${entry.shardCount} shard${entry.shardCount === 1 ? '' : 's'}${whole ? '' : ' (list cut)'}`;
}

/** The moves of an entry (`a:1→b:1 ×3, -→c:1 ×1`), its node when it has none; at most `max` characters. */
export function movesText(entry: HistoryEntry, max: number): string {
  if (entry.moves.length === 0) return entry.node ?? '';
  const text = entry.moves.map((m) => `${m.from || '-'}→${m.to || '-'} ×${m.count}`).join(', ');
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** The reason, with any fields this version does not know appended as stored (JSON). */
export function reasonText(entry: HistoryEntry): string {
  const extra = Object.keys(entry.unknown).length === 0 ? '' : ` ${JSON.stringify(entry.unknown)}`;
  return `${entry.reason}${extra}`;
}

/** An entry as a JSON document: every stored field (unknown ones included), plus its key's ID and its time. */
export function entryJson(entry: HistoryEntry): Record<string, unknown> {
  return { ...entry.stored, id: entry.id, time: new Date(entry.at).toISOString() };
}
