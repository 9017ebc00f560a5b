import { selectSamples, type LabelMatcher } from './query.js';
import type { MetricFamilies, Sample } from './textFormat.js';

/** One scrape of one target and when it was taken. */
export interface Scrape {
  readonly families: MetricFamilies;
  readonly atMs: number;
}

function seriesKey(s: Sample): string {
  return `${s.name}${JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
}

/**
 * Per-series increase of counters from `prev` to `cur`, as samples carrying the increase. A value that went down
 * means the process restarted (a counter reset) and a series new since `prev` started from zero; both count their
 * current value, as PromQL does. Series gone from `cur` are dropped.
 */
export function increase(prev: readonly Sample[], cur: readonly Sample[]): Sample[] {
  const before = new Map(prev.map((s) => [seriesKey(s), s.value]));
  return cur.map((s) => {
    const old = before.get(seriesKey(s));
    return { name: s.name, labels: s.labels, value: old === undefined || s.value < old ? s.value : s.value - old };
  });
}

/** Per-second rate of the matching counters between two scrapes of one target, summed; undefined without data. */
export function rate(prev: Scrape, cur: Scrape, sampleName: string, matcher: LabelMatcher = {}): number | undefined {
  const seconds = (cur.atMs - prev.atMs) / 1000;
  if (!(seconds > 0)) return undefined;
  const now = selectSamples(cur.families, sampleName, matcher);
  if (now.length === 0) return undefined;
  const total = increase(selectSamples(prev.families, sampleName, matcher), now).reduce((sum, s) => sum + s.value, 0);
  return total / seconds;
}
