/** Which history entries an operator asks for (`goverse-top history`'s flags), pure. */
import { parseDuration } from '../duration.js';
import { InvalidArgumentError } from '../errors.js';
import { type HistoryEntry, touchesNode, touchesShards } from './entry.js';
import type { ShardRanges } from './shardRanges.js';

export interface HistoryFilter {
  /** Entries at or after this time (epoch ms). */
  readonly since?: number;
  /** About any shard in these ranges. */
  readonly shards?: ShardRanges;
  readonly node?: string;
  /** A part of the actor (`alice`, `@ops-1`, a node address). */
  readonly actor?: string;
  /** Any of these actions (unknown names match entries that carry them). */
  readonly actions?: readonly string[];
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * `--since`: a duration back from `now` (`30m`, `2h`) or a time (`2025-01-31`, `2025-01-31T14:00:00Z`, a time without
 * offset is UTC); bad input is an InvalidArgumentError naming it.
 */
export function parseSince(text: string, now: number): number {
  const t = text.trim();
  if (DATE_TIME.test(t)) {
    const iso = t.replace(' ', 'T');
    const at = Date.parse(/T.*(Z|[+-]\d{2}:?\d{2})$/.test(iso) || !iso.includes('T') ? iso : `${iso}Z`);
    if (Number.isFinite(at)) return at;
  }
  try {
    return now - parseDuration(t);
  } catch {
    throw new InvalidArgumentError(
      `invalid --since ${JSON.stringify(text)}: expected a duration such as 30m or 2h, or a time such as 2025-01-31T14:00:00Z`,
    );
  }
}

/** `--action a,b`: names of actions, lower-case words with dashes. */
export function parseActions(text: string): string[] {
  const actions = text.split(',').map((a) => a.trim());
  for (const a of actions) {
    if (!/^[a-z][a-z-]{0,31}$/.test(a)) throw new InvalidArgumentError(`invalid --action ${JSON.stringify(a)}: expected action names such as pin,drain,rebalance`);
  }
  return actions;
}

export function matchesHistory(entry: HistoryEntry, filter: HistoryFilter): boolean {
  if (filter.since !== undefined && entry.at < filter.since) return false;
  if (filter.actions !== undefined && !filter.actions.includes(entry.action)) return false;
  if (filter.actor !== undefined && !entry.actor.includes(filter.actor)) return false;
  if (filter.node !== undefined && !touchesNode(entry, filter.node)) return false;
  if (filter.shards !== undefined && !touchesShards(entry, filter.shards)) return false;
  return true;
}
