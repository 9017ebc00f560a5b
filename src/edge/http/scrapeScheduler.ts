/**
 * The console's scrapes of every node's /metrics, node by node rather than round by round: each node is due again an
 * interval after its last scrape began, at most `concurrency` scrapes run at once, each within its time budget, and
 * what arrived is published every `publishEveryMs`, so a slow or dead node delays nobody else's figures. The interval
 * stretches with the node count (at most `maxPerSecond` scrapes a second, so 1,000 nodes are scraped every 5 s), and
 * every answer carries how old it may get before the view shows it as stale: the interval, the budget and a margin.
 * A node that does not answer is tried again after a backoff that doubles up to a few intervals.
 */
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/log/logger.js';
import type { ClusterSnapshot } from '../../core/snapshot/snapshot.js';
import {
  identifyNode,
  type MetricsSources,
  metricsTargets,
  type NodeMetrics,
  type ScrapeOutcome,
  type ScrapeTarget,
  summarizeScrape,
  type TargetPlan,
} from '../../core/view/index.js';
import { ScrapeCaches, scrapeTarget, trimIdleSockets } from './scraper.js';

export interface MetricsUpdate {
  /** Per alive node: its latest metrics, or why there are none. A new map per update. */
  readonly metrics: ReadonlyMap<string, NodeMetrics>;
  /** Metrics URLs not used, and why. */
  readonly unmatched: readonly { readonly url: string; readonly reason: string }[];
  /** Nodes whose entry changed since the previous update. */
  readonly changed: readonly string[];
}

export interface ScrapeSchedulerOptions {
  readonly sources: MetricsSources;
  /** The latest snapshot: which nodes are alive and where their metrics are. */
  readonly snapshot: () => ClusterSnapshot;
  /** How often each node is scraped, at least (`--refresh`). */
  readonly intervalMs: number;
  /** Time budget of one scrape, connection to last byte. */
  readonly timeoutMs: number;
  readonly publish: (update: MetricsUpdate) => void;
  readonly logger: Logger;
  /** Scrapes in flight at once (default 32). */
  readonly concurrency?: number;
  /** Scrapes started per second at most, on average (default 200): the interval stretches past it. */
  readonly maxPerSecond?: number;
  /** Answers are published together at most this often (default 250 ms). */
  readonly publishEveryMs?: number;
  /** Epoch ms clock (tests). */
  readonly now?: () => number;
}

interface TargetState {
  readonly target: ScrapeTarget;
  /** The node an explicit URL was matched to; the target's own address otherwise. */
  address: string | null;
  dueAt: number;
  running: boolean;
  failures: number;
  scraped: boolean;
}

const DEFAULTS = { concurrency: 32, maxPerSecond: 200, publishEveryMs: 250 } as const;
/** Figures older than the interval and the budget by this much are stale: the node missed its turn. */
const STALE_MARGIN_MS = 1000;
/** How often the snapshot is looked at for nodes joining and leaving when no scrape is due sooner. */
const POLL_MS = 250;
/** Nodes whose last scrape is kept to skip its unchanged lines, at most (see scrape). */
const MAX_CACHED_SOURCES = 256;
/** Kept-alive connections left idle between scrapes, at most: 1,000 nodes must not hold 1,000 sockets. */
const MAX_IDLE_SOCKETS = 256;

export class ScrapeScheduler {
  private readonly targets = new Map<string, TargetState>();
  private readonly metrics = new Map<string, NodeMetrics>();
  private readonly changed = new Set<string>();
  private readonly caches = new ScrapeCaches();
  private readonly abort = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private plan: TargetPlan = { targets: [], missing: new Map(), ignored: [] };
  private plannedFrom: Pick<ClusterSnapshot, 'nodes' | 'nodeInfo'> | null = null;
  /** Explicit URLs no node could be matched to, and why. */
  private readonly unidentified = new Map<string, string>();
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private publishTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly maxPerSecond: number;
  private readonly publishEveryMs: number;

  constructor(private readonly options: ScrapeSchedulerOptions) {
    this.now = options.now ?? Date.now;
    this.concurrency = options.concurrency ?? DEFAULTS.concurrency;
    this.maxPerSecond = options.maxPerSecond ?? DEFAULTS.maxPerSecond;
    this.publishEveryMs = options.publishEveryMs ?? DEFAULTS.publishEveryMs;
  }

  start(): void {
    this.pump();
  }

  /** Stops scheduling, aborts the scrapes in flight and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.publishTimer !== null) clearTimeout(this.publishTimer);
    await Promise.all(this.running);
  }

  /** Each node's interval: `--refresh`, stretched so that scrapes stay within `maxPerSecond`. */
  get intervalMs(): number {
    return Math.max(this.options.intervalMs, Math.ceil((this.targets.size * 1000) / this.maxPerSecond));
  }

  private pump(): void {
    if (this.stopped) return;
    this.replan(this.options.snapshot());
    const now = this.now();
    while (this.inFlight < this.concurrency) {
      const next = this.nextDue();
      if (next === null || next.dueAt > now) break;
      this.launch(next);
    }
    if (this.timer !== null) clearTimeout(this.timer);
    const next = this.nextDue();
    const wait = next === null ? POLL_MS : Math.min(POLL_MS, Math.max(0, next.dueAt - now));
    this.timer = setTimeout(() => this.pump(), this.inFlight >= this.concurrency ? POLL_MS : wait);
  }

  /** The target due first among those not being scraped. */
  private nextDue(): TargetState | null {
    let best: TargetState | null = null;
    for (const t of this.targets.values()) if (!t.running && (best === null || t.dueAt < best.dueAt)) best = t;
    return best;
  }

  private launch(t: TargetState): void {
    t.running = true;
    this.inFlight++;
    const startedAt = this.now();
    const done = this.scrape(t, startedAt)
      .catch((err: unknown) => this.options.logger.warn('metrics scrape failed', { url: t.target.url, error: describeError(err) }))
      .finally(() => {
        t.running = false;
        this.inFlight--;
        this.running.delete(done);
        this.pump();
      });
    this.running.add(done);
  }

  private async scrape(t: TargetState, startedAt: number): Promise<void> {
    // The cache of unchanged lines costs about 50 KB a node; past a few hundred nodes memory matters more.
    const caches = this.targets.size <= MAX_CACHED_SOURCES ? this.caches : undefined;
    const outcome = await scrapeTarget(t.target, { timeoutMs: this.options.timeoutMs, signal: this.abort.signal, ...(caches ? { caches } : {}) });
    if (this.stopped || this.targets.get(t.target.url) !== t) return;
    if (this.targets.size > MAX_IDLE_SOCKETS) trimIdleSockets(MAX_IDLE_SOCKETS);
    const interval = this.intervalMs;
    const address = t.target.address ?? this.identify(t, outcome);
    if (address !== null) {
      const summary = summarizeScrape(outcome, this.metrics.get(address));
      this.metrics.set(address, summary.kind === 'ok' ? { ...summary, staleAfterMs: interval + this.options.timeoutMs + STALE_MARGIN_MS } : summary);
      this.changed.add(address);
    }
    t.failures = outcome.kind === 'ok' ? 0 : t.failures + 1;
    // The second scrape of each node is spread over an interval, so that rounds do not come in waves.
    const spread = t.scraped ? 1 : 0.5 + Math.random();
    t.scraped = true;
    t.dueAt = t.failures === 0 ? startedAt + interval * spread : this.now() + Math.min(4 * interval, interval * 2 ** (t.failures - 1));
    this.schedulePublish();
  }

  /** The node an explicit URL serves: remembered once matched, checked again against its series at each scrape. */
  private identify(t: TargetState, outcome: ScrapeOutcome): string | null {
    const taken = new Set([...this.targets.values()].flatMap((o) => (o !== t && o.target.address === null && o.address !== null ? [o.address] : [])));
    const candidates = new Set([...this.plan.missing.keys()].filter((a) => !taken.has(a)));
    const found = identifyNode(t.target.url, outcome.kind === 'ok' ? outcome.families : null, candidates);
    const address = found ?? (t.address !== null && candidates.has(t.address) ? t.address : null);
    if (address === null) {
      this.unidentified.set(t.target.url, outcome.kind === 'ok' ? 'no series or unique host names one of the nodes without metrics' : outcome.reason);
    } else {
      this.unidentified.delete(t.target.url);
    }
    t.address = address;
    return address;
  }

  /** Targets for the nodes alive now, kept for the URLs that stay; metrics of nodes gone are dropped. */
  private replan(snapshot: ClusterSnapshot): void {
    if (this.plannedFrom?.nodes === snapshot.nodes && this.plannedFrom.nodeInfo === snapshot.nodeInfo) return;
    this.plannedFrom = { nodes: snapshot.nodes, nodeInfo: snapshot.nodeInfo };
    this.plan = metricsTargets(snapshot, this.options.sources);
    const urls = new Set(this.plan.targets.map((t) => t.url));
    for (const url of this.targets.keys()) if (!urls.has(url)) this.targets.delete(url);
    for (const url of this.unidentified.keys()) if (!urls.has(url)) this.unidentified.delete(url);
    this.caches.retain(this.plan.targets.length <= MAX_CACHED_SOURCES ? urls : new Set());
    const now = this.now();
    for (const target of this.plan.targets) {
      const held = this.targets.get(target.url);
      if (held === undefined || held.target.address !== target.address) {
        this.targets.set(target.url, { target, address: target.address, dueAt: now, running: false, failures: 0, scraped: false });
      }
    }
    const served = new Set([...this.targets.values()].flatMap((t) => (t.address === null ? [] : [t.address])));
    for (const address of this.metrics.keys()) {
      if (snapshot.nodes.has(address) && served.has(address)) continue;
      this.metrics.delete(address);
      this.changed.add(address);
    }
    for (const [address, reason] of this.plan.missing) {
      if (served.has(address)) continue;
      this.metrics.set(address, { kind: 'none', reason });
      this.changed.add(address);
    }
    this.schedulePublish();
  }

  private schedulePublish(): void {
    if (this.publishTimer !== null || this.changed.size === 0) return;
    this.publishTimer = setTimeout(() => {
      this.publishTimer = null;
      if (this.stopped) return;
      const changed = [...this.changed];
      this.changed.clear();
      const unmatched = [...this.plan.ignored, ...[...this.unidentified].map(([url, reason]) => ({ url, reason }))];
      this.options.publish({ metrics: new Map(this.metrics), unmatched, changed });
    }, this.publishEveryMs);
  }
}
