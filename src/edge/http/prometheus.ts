/**
 * Node metrics through a Prometheus server's HTTP query API (`GET <url>/api/v1/query`): the queries of
 * core/view/prometheusQueries.ts, a few at a time, each within the time budget and a bounded answer. Any failure
 * (unreachable, an HTTP error, an answer that is not Prometheus's, a refused query) is a PrometheusUnavailableError
 * naming the server and the query, so a scripted command exits 1 and the console shows it in its header.
 */
import { describeError, UnavailableError } from '../../core/errors.js';
import type { ClusterSnapshot } from '../../core/snapshot/snapshot.js';
import {
  decodeVector,
  type MetricsSources,
  mapInstances,
  type NodeMetrics,
  PROMETHEUS_QUERIES,
  prometheusMetrics,
  type PromSample,
  type QueryAnswers,
  type QueryName,
} from '../../core/view/index.js';
import { formatDuration } from '../../core/duration.js';

export interface PrometheusReadOptions {
  /** Base URL of the server (`http://prometheus:9090`, a path prefix allowed). */
  readonly url: string;
  /** Budget of each query. */
  readonly timeoutMs: number;
  /** How often the reader comes back (how stale its figures may get is counted from it). */
  readonly refreshMs: number;
  readonly signal?: AbortSignal;
}

/** A refresh failed: the server did not answer a query as Prometheus does. `why` leaves out the URL the message names. */
export class PrometheusUnavailableError extends UnavailableError {
  constructor(
    readonly url: string,
    readonly why: string,
    options: { cause?: unknown } = {},
  ) {
    super(`cannot read node metrics from Prometheus at ${url}: ${why}`, options);
  }
}

/** Queries in flight at once: Prometheus evaluates them in parallel, and a refresh has a dozen or so. */
const CONCURRENCY = 4;
/** An answer larger than this is refused (the top-k queries answer a few hundred series). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Every alive node's metrics through Prometheus; rejects with UnavailableError (naming the URL) on any failure. */
export async function readPrometheusMetrics(
  snapshot: ClusterSnapshot,
  sources: MetricsSources,
  previous: ReadonlyMap<string, NodeMetrics>,
  options: PrometheusReadOptions,
): Promise<Map<string, NodeMetrics>> {
  const answers = await queryAll(options);
  return prometheusMetrics(answers, mapInstances(snapshot, sources, answers), previous, options.url, options.refreshMs);
}

async function queryAll(options: PrometheusReadOptions): Promise<QueryAnswers> {
  const names = Object.keys(PROMETHEUS_QUERIES) as QueryName[];
  const out: Partial<Record<QueryName, readonly PromSample[]>> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const name = names[next++]!;
      out[name] = await query(options, PROMETHEUS_QUERIES[name]);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return out as QueryAnswers;
}

async function query(options: PrometheusReadOptions, promql: string): Promise<PromSample[]> {
  const url = new URL(`${options.url.replace(/\/+$/, '')}/api/v1/query`);
  url.searchParams.set('query', promql);
  const fail = (why: string, cause?: unknown): PrometheusUnavailableError => new PrometheusUnavailableError(options.url, why, cause === undefined ? {} : { cause });
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  let status: number;
  let text: string;
  try {
    const res = await fetch(url, { signal, headers: { accept: 'application/json' } });
    status = res.status;
    text = await boundedText(res);
  } catch (err) {
    throw fail(timeout.aborted ? `no answer within ${formatDuration(options.timeoutMs)}` : describeError(err), err);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw fail(`HTTP ${status}, not a JSON answer from /api/v1/query: is it a Prometheus server?`);
  }
  try {
    return decodeVector(body);
  } catch (err) {
    throw fail(`HTTP ${status} for query ${promql}: ${describeError(err)}`, err);
  }
}

/** The body as text, refused past MAX_BODY_BYTES. */
async function boundedText(res: Response): Promise<string> {
  if (Number(res.headers.get('content-length')) > MAX_BODY_BYTES) throw new Error(`answer larger than ${MAX_BODY_BYTES} bytes`);
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new Error(`answer larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Whether the last refresh through Prometheus worked, for the console's header. */
export type PrometheusState =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'ok'; readonly at: number }
  /**
   * Since when refreshes fail, and the latest reason, without the server's URL (the figures shown are the last ones
   * read, and go stale).
   */
  | { readonly kind: 'failing'; readonly since: number; readonly reason: string };

export interface PrometheusPollerOptions {
  readonly url: string;
  readonly sources: MetricsSources;
  readonly snapshot: () => ClusterSnapshot;
  readonly refreshMs: number;
  readonly timeoutMs: number;
  readonly publish: (metrics: ReadonlyMap<string, NodeMetrics> | null, state: PrometheusState) => void;
  /** Epoch ms clock (tests). */
  readonly now?: () => number;
}

/**
 * The console's reader of node metrics through Prometheus: one refresh every `refreshMs` (self-rescheduling: a slow
 * server never gets overlapping refreshes), each published with the server's state; a failed refresh publishes only
 * the state and keeps the figures read last.
 */
export class PrometheusPoller {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = false;
  private previous: ReadonlyMap<string, NodeMetrics> = new Map();
  private state: PrometheusState = { kind: 'connecting' };
  private readonly abort = new AbortController();
  private readonly now: () => number;

  constructor(private readonly options: PrometheusPollerOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    await this.inFlight;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.refresh().then((read) => {
        this.inFlight = null;
        // Until etcd has named some nodes there is nothing to map: look again soon rather than a refresh later.
        this.schedule(read ? this.options.refreshMs : Math.min(250, this.options.refreshMs));
      });
    }, delayMs);
  }

  /** One refresh; false when no node was known yet. */
  private async refresh(): Promise<boolean> {
    const snapshot = this.options.snapshot();
    if (snapshot.nodes.size === 0) return false;
    const { url, timeoutMs, refreshMs, sources } = this.options;
    try {
      const metrics = await readPrometheusMetrics(snapshot, sources, this.previous, { url, timeoutMs, refreshMs, signal: this.abort.signal });
      if (this.stopped) return true;
      this.previous = metrics;
      this.state = { kind: 'ok', at: this.now() };
      this.options.publish(metrics, this.state);
    } catch (err) {
      if (this.stopped) return true;
      const reason = err instanceof PrometheusUnavailableError ? err.why : describeError(err);
      this.state = { kind: 'failing', since: this.state.kind === 'failing' ? this.state.since : this.now(), reason };
      this.options.publish(null, this.state);
    }
    return true;
  }
}
