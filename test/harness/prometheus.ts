/**
 * A private Prometheus server for tests, from Debian's `prometheus` package (scripts/ensure-prometheus.sh installs
 * it): on a free loopback port, with its TSDB in a managed temp dir and a generated configuration that scrapes the
 * caller's static targets every second (and evaluates the given rule files as often). It can wait until every target
 * is up, run instant queries, and stops cleanly; the process registry kills it if the test worker dies first.
 * Prometheus applies new targets on a 5-second tick, so the first scrape comes about 5 s after the start: start it
 * before the processes it scrapes (their ports are known once the harness has picked them).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { onFreePorts, waitServerReady } from './ports.js';
import { type ManagedProcess, managedTempDir, removeManagedDir, spawnManaged } from './processes.js';
import { waitFor } from './waitFor.js';

export const PROMETHEUS_BIN = process.env.GOVERSE_PROMETHEUS_BIN ?? 'prometheus';
/** Checks and unit-tests rule files; ships with the server. */
export const PROMTOOL_BIN = process.env.GOVERSE_PROMTOOL_BIN ?? 'promtool';

/** The `job` label of every scraped series. */
export const JOB = 'goverse';
const START_TIMEOUT_MS = 20_000;
const HTTP_TIMEOUT_MS = 2_000;

/** Whether the server can run here; tests that need it skip themselves and say why when it cannot. */
export type PrometheusAvailability = { readonly available: true } | { readonly available: false; readonly reason: string };

export function prometheusAvailability(): PrometheusAvailability {
  const r = spawnSync(PROMETHEUS_BIN, ['--version'], { stdio: 'ignore', timeout: 20_000 });
  if (r.error === undefined && r.status === 0) return { available: true };
  const why = r.error !== undefined ? r.error.message : `--version exited with ${r.status ?? r.signal}`;
  return { available: false, reason: `no prometheus server (${PROMETHEUS_BIN}: ${why}); scripts/ensure-prometheus.sh installs Debian's package` };
}

export interface ScrapeTarget {
  /** `host:port` serving `/metrics`. */
  readonly address: string;
  /** The `instance` label (default: the address); e.g. a node's advertise address, to map series to nodes. */
  readonly instance?: string;
  /** More target labels, on every series scraped from this target. */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface PrometheusOptions {
  readonly targets: readonly ScrapeTarget[];
  /** Rule files (absolute paths) to load and evaluate. */
  readonly ruleFiles?: readonly string[];
  readonly label?: string;
}

/** One series of an instant query's vector result. */
export interface QuerySample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A scrape target as `/api/v1/targets` reports it. */
export interface TargetState {
  readonly labels: Readonly<Record<string, string>>;
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
}

export class PrometheusServer {
  constructor(
    readonly port: number,
    /** Configuration, TSDB and log; removed by stop(). */
    readonly dir: string,
    readonly configFile: string,
    private readonly proc: ManagedProcess,
    private readonly targetCount: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** GETs an HTTP API path and returns its `data` (the API answers `{"status": "success", "data": ...}`). */
  async api(path: string, params: Readonly<Record<string, string>> = {}): Promise<unknown> {
    const url = new URL(path, this.url);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const res = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    const body = (await res.json()) as { status?: unknown; data?: unknown; error?: unknown };
    if (res.status !== 200 || body.status !== 'success') {
      throw new Error(`prometheus ${url.pathname}: HTTP ${res.status}, ${String(body.error ?? body.status)}`);
    }
    return body.data;
  }

  /** An instant query that must return a vector (the usual case for a selector or an aggregation). */
  async query(promql: string): Promise<QuerySample[]> {
    const data = (await this.api('/api/v1/query', { query: promql })) as { resultType?: unknown; result?: unknown };
    if (data.resultType !== 'vector' || !Array.isArray(data.result)) {
      throw new Error(`prometheus query ${promql}: expected a vector, got ${String(data.resultType)}`);
    }
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
      metric: r.metric,
      value: Number(r.value[1]),
    }));
  }

  async targets(): Promise<TargetState[]> {
    const data = (await this.api('/api/v1/targets', { state: 'active' })) as { activeTargets?: TargetState[] };
    return data.activeTargets ?? [];
  }

  /** Waits until every configured target has been scraped successfully. */
  async waitTargetsUp(timeoutMs = START_TIMEOUT_MS): Promise<TargetState[]> {
    let last: TargetState[] = [];
    return waitFor(
      `all ${this.targetCount} targets of prometheus ${this.url} up`,
      async () => {
        last = await this.targets();
        return last.length === this.targetCount && last.every((t) => t.health === 'up') && last;
      },
      { timeoutMs, intervalMs: 50, describe: () => JSON.stringify(last.map((t) => [t.labels.instance, t.health, t.lastError])) },
    );
  }

  /** SIGTERM (Prometheus closes its TSDB), wait for the exit, remove the temp dir. */
  async stop(): Promise<void> {
    await this.proc.stop('SIGTERM', 10_000);
    removeManagedDir(this.dir);
  }
}

/** Starts Prometheus and waits until it answers `/-/ready`. */
export function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [
      {
        job_name: JOB,
        static_configs: options.targets.map((t) => ({
          targets: [t.address],
          labels: { ...t.labels, ...(t.instance === undefined ? {} : { instance: t.instance }) },
        })),
      },
    ],
  };
  return onFreePorts(1, async ([port]) => {
    const dir = managedTempDir(options.label ?? 'prometheus');
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(configFile, stringify(config));
    const proc = spawnManaged(
      'prometheus',
      PROMETHEUS_BIN,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { logFile: join(dir, 'prometheus.log') },
    );
    const server = new PrometheusServer(port!, dir, configFile, proc, options.targets.length);
    const ready = async (): Promise<boolean> =>
      (await fetch(`${server.url}/-/ready`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) })).status === 200;
    try {
      await waitServerReady(`prometheus on 127.0.0.1:${port}`, proc, ready, START_TIMEOUT_MS);
    } catch (err) {
      removeManagedDir(dir);
      throw err;
    }
    return server;
  });
}
