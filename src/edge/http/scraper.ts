import { formatDuration } from '../../core/duration.js';
import { describeError } from '../../core/errors.js';
import { MetricsParseError, parsePrometheusText } from '../../core/metrics/textFormat.js';
import type { ClusterSnapshot } from '../../core/snapshot/snapshot.js';
import {
  identifyNode,
  type MetricsSources,
  metricsTargets,
  type NodeMetrics,
  type ScrapeOutcome,
  type ScrapeTarget,
  summarizeScrape,
} from '../../core/view/index.js';

export interface ScrapeOptions {
  /** Deadline of one scrape, connection to last byte. */
  readonly timeoutMs: number;
  /** Scrapes in flight at once (100+ nodes must not open 100+ sockets at the same instant). */
  readonly concurrency?: number;
  /** Larger bodies are refused as malformed (a runaway exporter must not exhaust the console). */
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
  /** Epoch ms clock (tests). */
  readonly now?: () => number;
}

const DEFAULT_CONCURRENCY = 16;
const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/** Fetches and parses one `/metrics`; never throws: failures are outcomes with a reason. */
export async function scrapeOne(url: string, options: ScrapeOptions): Promise<ScrapeOutcome> {
  const now = options.now ?? Date.now;
  const atMs = now();
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  let text: string;
  try {
    const res = await fetch(url, { signal, headers: { accept: 'text/plain;version=0.0.4' } });
    if (res.status !== 200) {
      await res.body?.cancel();
      return { kind: 'unreachable', url, atMs, reason: `HTTP ${res.status} ${res.statusText}`.trim() };
    }
    const body = await readCapped(res, options.maxBytes ?? DEFAULT_MAX_BYTES);
    if (body === null) return { kind: 'malformed', url, atMs, reason: `body larger than ${options.maxBytes ?? DEFAULT_MAX_BYTES} bytes` };
    text = body;
  } catch (err) {
    const reason = timeout.aborted ? `no answer within ${formatDuration(options.timeoutMs)}` : fetchFailure(err);
    return { kind: 'unreachable', url, atMs, reason };
  }
  try {
    return { kind: 'ok', url, atMs, families: parsePrometheusText(text) };
  } catch (err) {
    if (err instanceof MetricsParseError) return { kind: 'malformed', url, atMs, reason: err.message };
    throw err;
  }
}

/** Scrapes every URL with bounded concurrency; outcomes are parallel to `urls`. */
export async function scrapeAll(urls: readonly string[], options: ScrapeOptions): Promise<ScrapeOutcome[]> {
  const out = new Array<ScrapeOutcome>(urls.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < urls.length) {
      const i = next++;
      out[i] = await scrapeOne(urls[i]!, options);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? DEFAULT_CONCURRENCY, urls.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return out;
}

export interface NodeScrapes {
  /** Per alive node: its summarized metrics, or why there are none. */
  readonly metrics: Map<string, NodeMetrics>;
  /** Explicit URLs no node could be matched to. */
  readonly unmatched: { readonly url: string; readonly reason: string }[];
}

/**
 * One round of scrapes for the view: every alive node through its nodeinfo ops URL or the `--metrics-url` template,
 * plus the explicit URLs (matched to nodes by their series or host). Rates come from `previous`, the last round.
 */
export async function scrapeNodes(
  snapshot: ClusterSnapshot,
  sources: MetricsSources,
  previous: ReadonlyMap<string, NodeMetrics>,
  options: ScrapeOptions,
): Promise<NodeScrapes> {
  const plan = metricsTargets(snapshot, sources);
  const outcomes = await scrapeAll(plan.targets.map((t) => t.url), options);
  const metrics = new Map<string, NodeMetrics>();
  const unmatched: NodeScrapes['unmatched'] = [];
  const listed: { target: ScrapeTarget; outcome: ScrapeOutcome }[] = [];
  plan.targets.forEach((target, i) => {
    const outcome = outcomes[i]!;
    if (target.address === null) listed.push({ target, outcome });
    else metrics.set(target.address, summarizeScrape(outcome, previous.get(target.address)));
  });
  const candidates = new Set(plan.missing.keys());
  for (const { target, outcome } of listed) {
    const address = identifyNode(target.url, outcome.kind === 'ok' ? outcome.families : null, candidates);
    if (address === null) {
      const why = outcome.kind === 'ok' ? 'no series or unique host names one of the nodes without metrics' : outcome.reason;
      unmatched.push({ url: target.url, reason: why });
      continue;
    }
    candidates.delete(address);
    metrics.set(address, summarizeScrape(outcome, previous.get(address)));
  }
  for (const address of candidates) metrics.set(address, { kind: 'none', reason: plan.missing.get(address)! });
  return { metrics, unmatched };
}

/** The body as text, or null when it exceeds `maxBytes`. */
async function readCapped(res: Response, maxBytes: number): Promise<string | null> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    return null;
  }
  if (res.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    // Leaving the loop cancels the stream.
    if (size > maxBytes) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** fetch() hides the socket error in `cause`; name it (`connect ECONNREFUSED 127.0.0.1:9100`). */
function fetchFailure(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error) return cause.message;
  return describeError(err);
}
