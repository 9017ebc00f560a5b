import { isWildcardHost, splitHostPort } from '../config/addresses.js';
import type { ConfigNode } from '../config/configNodes.js';
import { selectSamples } from '../metrics/query.js';
import type { MetricFamilies } from '../metrics/textFormat.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';

/**
 * Where node metrics are scraped. TypeScript nodes publish their ops URL in `<prefix>/nodeinfo/<addr>`; upstream
 * nodes publish nothing, so they are found in the config file's node list (upstream's YAML: `advertise_addr` and
 * `http_addr` per node), or the operator gives `--metrics-url`: a template (`http://{host}:8080/metrics`, with
 * `{addr}`, `{host}` and `{port}` taken from the node address) and/or explicit URLs, whose node is recognised from
 * the scraped series.
 */
export interface MetricsSources {
  readonly templates: readonly string[];
  readonly urls: readonly string[];
  /** `http_addr` by node address, from the config file. */
  readonly configured: ReadonlyMap<string, string>;
}

const PLACEHOLDER = /\{(addr|host|port)\}/;

export function parseMetricsSources(items: readonly string[], configNodes: readonly ConfigNode[] = []): MetricsSources {
  return {
    templates: items.filter((i) => PLACEHOLDER.test(i)),
    urls: items.filter((i) => !PLACEHOLDER.test(i)),
    configured: new Map(configNodes.map((n) => [n.address, n.httpAddr])),
  };
}

export interface ScrapeTarget {
  readonly url: string;
  /** The node scraped; null for an explicit URL, whose node `identifyNode` learns from the scrape. */
  readonly address: string | null;
  readonly source: 'nodeinfo' | 'config' | 'template' | 'list';
  /**
   * Upstream nodes' `/ready` (200 ready, 503 not), asked beside `/metrics` for nodes found in the config file: they
   * export no readiness series. Null for the others (ours export `goverse_node_ready`).
   */
  readonly readyUrl: string | null;
}

export interface TargetPlan {
  readonly targets: readonly ScrapeTarget[];
  /** Alive nodes without a target, and why (explicit URLs may still turn out to be theirs). */
  readonly missing: ReadonlyMap<string, string>;
  /** Published ops URLs not used although the node has a target (the template's), and why. */
  readonly ignored: readonly { readonly url: string; readonly reason: string }[];
}

/** `{addr}` is the whole address; `{host}` and `{port}` its parts (the host keeps IPv6 brackets, a bare host has no port). */
export function expandTemplate(template: string, address: string): string {
  const hp = splitHostPort(address);
  const host = hp?.host ?? address;
  const port = hp === undefined ? '' : String(hp.port);
  return template.replaceAll('{addr}', address).replaceAll('{host}', host).replaceAll('{port}', port);
}

/**
 * A node's published ops URL: `http(s)://host:port`, optionally with a trailing slash, whose host is the host of the
 * node's own address. Whoever can write etcd can publish any URL, and the CLI and the console fetch it; anything else
 * (another host, a path, a query, user info, a missing port) would make them send a request wherever it points.
 */
const OPS_URL = /^(https?):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/;

/**
 * The base URL of a node's HTTP server from the `http_addr` its config entry lists (a listen address): a wildcard or
 * empty host is the node's own host; another host is refused, as a published ops URL on another host is.
 */
export function configuredBaseUrl(httpAddr: string, address: string): { readonly base: string } | { readonly problem: string } {
  const hp = splitHostPort(httpAddr);
  const own = splitHostPort(address)?.host ?? '';
  if (hp === undefined || hp.port === 0) return { problem: 'not a host:port with a port' };
  const host = isWildcardHost(hp.host) ? own : hp.host;
  if (host === '' || host.toLowerCase() !== own.toLowerCase()) return { problem: `host ${hp.host} is not the node's own host ${own || '(none)'}` };
  return { base: `http://${host}:${hp.port}` };
}

/** The node's `/metrics` URL from its published ops URL, or why the ops URL is not used. */
export function opsMetricsUrl(opsUrl: string, address: string): { readonly url: string } | { readonly problem: string } {
  const m = OPS_URL.exec(opsUrl);
  const port = Number(m?.[3]);
  if (m === null || !(port >= 1 && port <= 65535)) return { problem: 'not of the form http(s)://host:port' };
  const own = splitHostPort(address)?.host ?? '';
  if (m[2]!.toLowerCase() !== own.toLowerCase()) return { problem: `host ${m[2]} is not the node's own host ${own || '(none)'}` };
  return { url: `${m[1]}://${m[2]}:${port}/metrics` };
}

/**
 * One target per alive node: its published ops URL, else its config file entry (nodes without nodeinfo only), else
 * the first template; plus every explicit URL not already a node's target. A published ops URL that is not the node's
 * own `http(s)://host:port`, or a config entry on another host, is never fetched: the node falls back to the next
 * source, and the URL is reported as ignored (or as why the node has no target).
 */
export function metricsTargets(snapshot: ClusterSnapshot, sources: MetricsSources): TargetPlan {
  const targets: ScrapeTarget[] = [];
  const missing = new Map<string, string>();
  const ignored: { url: string; reason: string }[] = [];
  const taken = new Set<string>();
  const template = sources.templates[0];
  for (const address of snapshot.nodes.keys()) {
    const info = snapshot.nodeInfo.get(address);
    const opsUrl = info?.opsUrl ?? '';
    const published = opsUrl === '' ? null : opsMetricsUrl(opsUrl, address);
    // A node that publishes nodeinfo is one of ours: what it publishes is the truth about it, not a file.
    const httpAddr = info === undefined ? sources.configured.get(address) : undefined;
    const configured = httpAddr === undefined ? null : configuredBaseUrl(httpAddr, address);
    let target: ScrapeTarget | null = null;
    if (published !== null && 'url' in published) target = { url: published.url, address, source: 'nodeinfo', readyUrl: null };
    else if (configured !== null && 'base' in configured) {
      target = { url: `${configured.base}/metrics`, address, source: 'config', readyUrl: `${configured.base}/ready` };
    } else if (template !== undefined) target = { url: expandTemplate(template, address), address, source: 'template', readyUrl: null };
    const rejected =
      published !== null && 'problem' in published
        ? { url: opsUrl.slice(0, 200), what: 'ops URL', reason: `published by ${address}, ignored: ${published.problem}` }
        : configured !== null && 'problem' in configured
          ? { url: httpAddr!.slice(0, 200), what: 'http_addr', reason: `listed for ${address} in the config file, ignored: ${configured.problem}` }
          : null;
    if (target === null) {
      missing.set(
        address,
        rejected !== null
          ? `${rejected.what} ${JSON.stringify(rejected.url)} ${rejected.reason}; give --metrics-url`
          : info !== undefined
            ? 'the node serves no ops endpoint (--http-listen unset)'
            : 'no nodeinfo and no config file entry with an http_addr; give --config or --metrics-url',
      );
      continue;
    }
    if (rejected !== null) ignored.push({ url: rejected.url, reason: rejected.reason });
    targets.push(target);
    taken.add(target.url);
  }
  for (const url of sources.urls) {
    if (!taken.has(url)) targets.push({ url, address: null, source: 'list', readyUrl: null });
    taken.add(url);
  }
  return { targets, missing, ignored };
}

/** Series whose label names the node that exports them, ours and upstream's (cluster-wide gauges excluded). */
export const IDENTITY_SERIES: readonly (readonly [string, string])[] = [
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
