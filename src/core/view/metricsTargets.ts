import { splitHostPort } from '../config/addresses.js';
import { selectSamples } from '../metrics/query.js';
import type { MetricFamilies } from '../metrics/textFormat.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';

/**
 * Where node metrics are scraped. TypeScript nodes publish their ops URL in `<prefix>/nodeinfo/<addr>`; upstream
 * nodes publish nothing, so the operator gives `--metrics-url`: a template (`http://{host}:8080/metrics`, with
 * `{addr}`, `{host}` and `{port}` taken from the node address) and/or explicit URLs, whose node is recognised from
 * the scraped series.
 */
export interface MetricsSources {
  readonly templates: readonly string[];
  readonly urls: readonly string[];
}

const PLACEHOLDER = /\{(addr|host|port)\}/;

export function parseMetricsSources(items: readonly string[]): MetricsSources {
  return {
    templates: items.filter((i) => PLACEHOLDER.test(i)),
    urls: items.filter((i) => !PLACEHOLDER.test(i)),
  };
}

export interface ScrapeTarget {
  readonly url: string;
  /** The node scraped; null for an explicit URL, whose node `identifyNode` learns from the scrape. */
  readonly address: string | null;
  readonly source: 'nodeinfo' | 'template' | 'list';
}

export interface TargetPlan {
  readonly targets: readonly ScrapeTarget[];
  /** Alive nodes without a target, and why (explicit URLs may still turn out to be theirs). */
  readonly missing: ReadonlyMap<string, string>;
}

/** `{addr}` is the whole address; `{host}` and `{port}` its parts (the host keeps IPv6 brackets, a bare host has no port). */
export function expandTemplate(template: string, address: string): string {
  const hp = splitHostPort(address);
  const host = hp?.host ?? address;
  const port = hp === undefined ? '' : String(hp.port);
  return template.replaceAll('{addr}', address).replaceAll('{host}', host).replaceAll('{port}', port);
}

/** The URL of `/metrics` under a node's published ops URL. */
export function metricsUrlOf(opsUrl: string): string {
  return `${opsUrl.replace(/\/+$/, '')}/metrics`;
}

/**
 * One target per alive node: its published ops URL, else the first template; plus every explicit URL not already a
 * node's target.
 */
export function metricsTargets(snapshot: ClusterSnapshot, sources: MetricsSources): TargetPlan {
  const targets: ScrapeTarget[] = [];
  const missing = new Map<string, string>();
  const taken = new Set<string>();
  const template = sources.templates[0];
  for (const address of snapshot.nodes.keys()) {
    const opsUrl = snapshot.nodeInfo.get(address)?.opsUrl ?? '';
    let target: ScrapeTarget | null = null;
    if (opsUrl !== '') target = { url: metricsUrlOf(opsUrl), address, source: 'nodeinfo' };
    else if (template !== undefined) target = { url: expandTemplate(template, address), address, source: 'template' };
    if (target === null) {
      missing.set(
        address,
        snapshot.nodeInfo.has(address) ? 'the node serves no ops endpoint (--http-listen unset)' : 'no nodeinfo; give --metrics-url',
      );
      continue;
    }
    targets.push(target);
    taken.add(target.url);
  }
  for (const url of sources.urls) {
    if (!taken.has(url)) targets.push({ url, address: null, source: 'list' });
    taken.add(url);
  }
  return { targets, missing };
}

/** Series whose label names the node that exports them, ours and upstream's (cluster-wide gauges excluded). */
const IDENTITY_SERIES: readonly (readonly [string, string])[] = [
  ['goverse_node_shards', 'node'],
  ['goverse_shard_claims_total', 'node'],
  ['goverse_shard_releases_total', 'node'],
  ['goverse_method_calls_total', 'node'],
  ['goverse_objects_total', 'node'],
  ['goverse_operation_duration_seconds_count', 'node_addr'],
  ['goverse_watch_reconnections_total', 'node_addr'],
];

/**
 * The node an explicit metrics URL belongs to: the one address its own series carry, else the one candidate whose
 * host is the URL's host. Null when neither tells (the operator should use a template).
 */
export function identifyNode(url: string, families: MetricFamilies | null, candidates: ReadonlySet<string>): string | null {
  if (families !== null) {
    for (const [name, label] of IDENTITY_SERIES) {
      const values = new Set<string>();
      for (const s of selectSamples(families, name)) if (Object.hasOwn(s.labels, label) && s.labels[label] !== '') values.add(s.labels[label]!);
      if (values.size === 1) {
        const [address] = values;
        if (candidates.has(address!)) return address!;
      }
    }
  }
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return null;
  }
  const byHost = [...candidates].filter((a) => {
    const h = splitHostPort(a)?.host ?? a;
    return h === host || h === `[${host}]` || `[${h}]` === host;
  });
  return byHost.length === 1 ? byHost[0]! : null;
}
