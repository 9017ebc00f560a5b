import type { Labels, MetricFamilies, MetricFamily, Sample } from './textFormat.js';

/** Label values a sample must have; as in PromQL, `label: ''` also matches a sample without that label. */
export type LabelMatcher = Readonly<Record<string, string>>;

export function matchesLabels(labels: Labels, matcher: LabelMatcher): boolean {
  for (const [name, value] of Object.entries(matcher)) {
    if ((Object.hasOwn(labels, name) ? labels[name] : '') !== value) return false;
  }
  return true;
}

const SUFFIX = /_(?:bucket|sum|count)$/;

/** The family holding samples called `sampleName`: `x_bucket` lives in histogram `x`. */
function familyHolding(families: MetricFamilies, sampleName: string): MetricFamily | undefined {
  return families.get(sampleName) ?? (SUFFIX.test(sampleName) ? families.get(sampleName.replace(SUFFIX, '')) : undefined);
}

/** Samples called `sampleName` whose labels match. */
export function selectSamples(families: MetricFamilies, sampleName: string, matcher: LabelMatcher = {}): Sample[] {
  const family = familyHolding(families, sampleName);
  if (family === undefined) return [];
  return family.samples.filter((s) => s.name === sampleName && matchesLabels(s.labels, matcher));
}

/** The value of the first matching sample (a gauge or counter by its labels), or undefined when none matches. */
export function sampleValue(families: MetricFamilies, sampleName: string, matcher: LabelMatcher = {}): number | undefined {
  return selectSamples(families, sampleName, matcher)[0]?.value;
}

/** Sum over every matching series; undefined when none matches, which a console must not show as 0. */
export function sumValues(families: MetricFamilies, sampleName: string, matcher: LabelMatcher = {}): number | undefined {
  const samples = selectSamples(families, sampleName, matcher);
  return samples.length === 0 ? undefined : samples.reduce((sum, s) => sum + s.value, 0);
}

/** PromQL `sum by (label)`: matching series summed per value of `label` (missing counts as ''). */
export function sumByLabel(families: MetricFamilies, sampleName: string, label: string, matcher: LabelMatcher = {}): Map<string, number> {
  const sums = new Map<string, number>();
  for (const s of selectSamples(families, sampleName, matcher)) {
    const key = Object.hasOwn(s.labels, label) ? s.labels[label]! : '';
    sums.set(key, (sums.get(key) ?? 0) + s.value);
  }
  return sums;
}
