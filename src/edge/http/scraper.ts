import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { formatDuration } from '../../core/duration.js';
import { describeError } from '../../core/errors.js';
import { MetricsParseError, parsePrometheusText, SampleCache } from '../../core/metrics/textFormat.js';
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
  /** For a scraper that runs round after round (the console): lines unchanged since the last round are not parsed. */
  readonly caches?: ScrapeCaches;
}

/** One SampleCache per scraped URL; `scrapeNodes` forgets the URLs a round no longer scrapes. */
export class ScrapeCaches {
  private readonly byUrl = new Map<string, SampleCache>();

  for(url: string): SampleCache {
    let cache = this.byUrl.get(url);
    if (cache === undefined) this.byUrl.set(url, (cache = new SampleCache()));
    return cache;
  }

  retain(urls: ReadonlySet<string>): void {
    for (const url of this.byUrl.keys()) if (!urls.has(url)) this.byUrl.delete(url);
  }

  get size(): number {
    return this.byUrl.size;
  }
}

const DEFAULT_CONCURRENCY = 16;
const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/** Fetches and parses one `/metrics`; never throws: failures are outcomes with a reason. */
export async function scrapeOne(url: string, options: ScrapeOptions): Promise<ScrapeOutcome> {
  const now = options.now ?? Date.now;
  const atMs = now();
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  let text: string;
  try {
    const res = await get(new URL(url), signal, maxBytes);
    if (res.kind === 'status') return { kind: 'unreachable', url, atMs, reason: `HTTP ${res.status} ${res.statusText}`.trim() };
    if (res.kind === 'too-large') return { kind: 'malformed', url, atMs, reason: `body larger than ${maxBytes} bytes` };
    text = res.text;
  } catch (err) {
    const reason = timeout.aborted ? `no answer within ${formatDuration(options.timeoutMs)}` : describeError(err);
    return { kind: 'unreachable', url, atMs, reason };
  }
  try {
    return { kind: 'ok', url, atMs, families: parsePrometheusText(text, options.caches?.for(url)) };
  } catch (err) {
    if (err instanceof MetricsParseError) return { kind: 'malformed', url, atMs, reason: err.message };
    throw err;
  }
}

/**
 * A node's `/ready`: 200 ready, any other status not ready; undefined when there is no answer (unknown). Upstream's
 * verdict is latched: once ready, it stays so until the process ends.
 */
export async function probeReady(url: string, options: ScrapeOptions): Promise<boolean | undefined> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  try {
    const res = await get(new URL(url), signal, READY_MAX_BYTES);
    return res.kind === 'body';
  } catch {
    return undefined;
  }
}

/** A target's `/metrics`, with its `/ready` verdict beside it when the target names one (upstream nodes). */
export async function scrapeTarget(target: ScrapeTarget, options: ScrapeOptions): Promise<ScrapeOutcome> {
  const [scraped, ready] = await Promise.all([scrapeOne(target.url, options), target.readyUrl === null ? undefined : probeReady(target.readyUrl, options)]);
  return scraped.kind === 'ok' && ready !== undefined ? { ...scraped, ready } : scraped;
}

/** A readiness answer is a short JSON status. */
const READY_MAX_BYTES = 64 * 1024;

type Response =
  | { readonly kind: 'body'; readonly text: string }
  | { readonly kind: 'status'; readonly status: number; readonly statusText: string }
  | { readonly kind: 'too-large' };

/**
 * Scrapes reuse their connections: a console scraping 100 nodes every 2 s would otherwise open 50 connections a
 * second. Idle sockets do not keep the process alive. node:http rather than fetch(), whose web streams cost the
 * console twice the CPU per scrape.
 */
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/**
 * Closes kept-alive connections left idle beyond `max`: a console scraping a thousand nodes would otherwise hold a
 * socket per node between scrapes, past the file limit of many machines (1,024, or 256 on macOS). The ones closed are
 * opened again on their node's next scrape.
 */
export function trimIdleSockets(max: number): void {
  for (const agent of [agents.http, agents.https]) {
    let idle = 0;
    for (const sockets of Object.values(agent.freeSockets)) idle += sockets?.length ?? 0;
    for (const sockets of Object.values(agent.freeSockets)) {
      for (const socket of [...(sockets ?? [])]) {
        if (idle <= max) break;
        socket.destroy();
        idle--;
      }
    }
  }
}

/**
 * GET `url`: its body when 200 and at most `maxBytes`; rejects on transport errors and when `signal` aborts. A reused
 * connection the node closed as idle just before the request is retried once on a new one.
 */
async function get(url: URL, signal: AbortSignal, maxBytes: number): Promise<Response> {
  try {
    return await getOnce(url, signal, maxBytes);
  } catch (err) {
    if (!(err instanceof StaleConnectionError)) throw err;
    if (signal.aborted) throw err.cause;
    return getOnce(url, signal, maxBytes);
  }
}

/** The request failed on a kept-alive connection before any answer: the peer had closed it. */
class StaleConnectionError extends Error {}

function getOnce(url: URL, signal: AbortSignal, maxBytes: number): Promise<Response> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const options = { agent: secure ? agents.https : agents.http, headers: { accept: 'text/plain;version=0.0.4' }, signal };
    const req = (secure ? httpsRequest : httpRequest)(url, options, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        return resolve({ kind: 'status', status, statusText: res.statusMessage ?? '' });
      }
      if (Number(res.headers['content-length']) > maxBytes) {
        res.destroy();
        return resolve({ kind: 'too-large' });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= maxBytes) return void chunks.push(chunk);
        res.destroy();
        resolve({ kind: 'too-large' });
      });
      res.on('end', () => resolve({ kind: 'body', text: Buffer.concat(chunks, size).toString('utf8') }));
      // A body cut short (peer gone, deadline): settles nothing when the body already ended or was refused.
      res.on('close', () => reject(new Error('connection closed before the end of the body')));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(req.reusedSocket && err.code === 'ECONNRESET' ? new StaleConnectionError(err.message, { cause: err }) : err);
    });
    req.end();
  });
}

/** Scrapes every URL with bounded concurrency; outcomes are parallel to `urls`. */
export function scrapeAll(urls: readonly string[], options: ScrapeOptions): Promise<ScrapeOutcome[]> {
  return mapBounded(urls, options.concurrency ?? DEFAULT_CONCURRENCY, (url) => scrapeOne(url, options));
}

/** `fn` over `items` with at most `concurrency` calls in flight; results parallel to `items`. */
async function mapBounded<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return out;
}

export interface NodeScrapes {
  /** Per alive node: its summarized metrics, or why there are none. */
  readonly metrics: Map<string, NodeMetrics>;
  /** Metrics URLs not used, and why: explicit URLs no node could be matched to, published ops URLs ignored. */
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
  options.caches?.retain(new Set(plan.targets.map((t) => t.url)));
  // A known node's scrape is summarized as soon as it arrives: its parsed text, the bulk of a round, dies young
  // instead of surviving the whole round into the old generation. Only explicit URLs keep theirs, to be matched.
  type Scraped =
    | { readonly kind: 'known'; readonly address: string; readonly summary: NodeMetrics }
    | { readonly kind: 'listed'; readonly target: ScrapeTarget; readonly outcome: ScrapeOutcome };
  const results = await mapBounded(plan.targets, options.concurrency ?? DEFAULT_CONCURRENCY, async (target): Promise<Scraped> => {
    const outcome = await scrapeTarget(target, options);
    if (target.address === null) return { kind: 'listed', target, outcome };
    return { kind: 'known', address: target.address, summary: summarizeScrape(outcome, previous.get(target.address)) };
  });
  const metrics = new Map<string, NodeMetrics>();
  const unmatched: NodeScrapes['unmatched'] = [...plan.ignored];
  const listed: { target: ScrapeTarget; outcome: ScrapeOutcome }[] = [];
  for (const r of results) {
    if (r.kind === 'known') metrics.set(r.address, r.summary);
    else listed.push(r);
  }
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
