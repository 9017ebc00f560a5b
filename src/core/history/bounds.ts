/**
 * The history's bounds and the rule that keeps it within them. Every writer deletes the entries older than the age
 * bound in the transaction of its append (one range delete: entry IDs begin with their time), and trims by count
 * after it (count the entries, delete the oldest beyond the bound); the leader also trims both ways periodically, so
 * an idle history ages out too. Only entry IDs (which begin with a digit) are counted and trimmed: a key of another
 * form under `history/` is reported as malformed, never mistaken for an entry.
 */
import type { GoverseConfig } from '../config/settings.js';
import type { Keyspace } from '../keyspace/keys.js';
import { historyId } from './entry.js';

export interface HistoryBounds {
  /** Entries kept at most (GOVERSE_HISTORY_MAX_ENTRIES). */
  readonly maxEntries: number;
  /** Entries older than this are deleted (GOVERSE_HISTORY_MAX_AGE). */
  readonly maxAgeMs: number;
}

export const DEFAULT_HISTORY_BOUNDS: HistoryBounds = { maxEntries: 10_000, maxAgeMs: 7 * 24 * 3_600_000 };

/** A key range [start, end). */
export interface KeyRange {
  readonly start: string;
  readonly end: string;
}

/** The keys entries can have: IDs start with a digit. */
export function entrySpan(keys: Keyspace): KeyRange {
  return { start: `${keys.historyRoot}0`, end: `${keys.historyRoot}:` };
}

/** The entries older than the age bound at `now`: from the first entry up to the ID of `now - maxAge`. */
export function expiredSpan(keys: Keyspace, bounds: HistoryBounds, now: number): KeyRange {
  return { start: entrySpan(keys).start, end: keys.history(historyId(now - bounds.maxAgeMs, '')) };
}

/** How many of the oldest entries a count trim deletes when `count` entries exist. */
export function countExcess(count: number, bounds: HistoryBounds): number {
  return Math.max(0, count - bounds.maxEntries);
}

/** The range a count trim deletes: the oldest entries up to and including `lastExcessKey`, the excess-th oldest. */
export function excessSpan(keys: Keyspace, lastExcessKey: string): KeyRange {
  return { start: entrySpan(keys).start, end: `${lastExcessKey}\u0000` };
}

/** How often the leader trims by both bounds while it leads: a minute, or more often under a short age bound. */
export function trimIntervalMs(bounds: HistoryBounds): number {
  return Math.max(1000, Math.min(60_000, bounds.maxAgeMs / 4));
}

/** The bounds of a resolved configuration. */
export function historyBoundsFromConfig(config: Pick<GoverseConfig, 'historyMaxEntries' | 'historyMaxAge'>): HistoryBounds {
  return { maxEntries: config.historyMaxEntries, maxAgeMs: config.historyMaxAge };
}
