import { DEFAULT_HISTORY_BOUNDS } from '../../history/bounds.js';
import { duration, integer } from '../valueTypes.js';
import type { SettingTable } from './spec.js';

/** The cluster history's bounds (group `cluster`): every process that appends to it trims by them. */
export const HISTORY_SETTINGS = {
  historyMaxEntries: {
    group: 'cluster',
    usedBy: 'both',
    type: integer({ min: 10, max: 1_000_000 }),
    default: DEFAULT_HISTORY_BOUNDS.maxEntries,
    env: 'GOVERSE_HISTORY_MAX_ENTRIES',
    yaml: 'cluster.history.max_entries',
    flag: '--history-max-entries',
    description:
      'Entries the cluster history (`<prefix>/history/`) keeps at most: each writer trims the oldest beyond it after appending, the leader also every minute (every quarter of historyMaxAge when that is shorter).',
  },
  historyMaxAge: {
    group: 'cluster',
    usedBy: 'both',
    type: duration({ positive: true, max: 365 * 24 * 3_600_000 }),
    default: DEFAULT_HISTORY_BOUNDS.maxAgeMs,
    defaultText: '`168h` (7 days)',
    env: 'GOVERSE_HISTORY_MAX_AGE',
    yaml: 'cluster.history.max_age',
    flag: '--history-max-age',
    description: 'Cluster history entries older than this are deleted, in the transaction of every append and by the leader periodically.',
  },
} satisfies SettingTable;
