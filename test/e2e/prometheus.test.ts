/**
 * Node metrics through Prometheus, end to end: three real goverse-node processes under a steady load, scraped every
 * second by a real Prometheus, read by `goverse-top nodes -o json --prometheus-url` and by the console in a real
 * terminal. Each node is found by another rule of its `instance` label: relabelled to the node's address, left as the
 * ops host:port the node publishes in nodeinfo, or renamed to something else (found by the node label of its series).
 * Their figures are held to direct scrapes of the same nodes taken just before and just after, so within the scrape
 * interval of the sample Prometheus gave: counts exactly, rates within 10 %. Then a Prometheus that is not there, or
 * not Prometheus: scripts exit 1 naming the URL, and the console's header says so.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoverseClient } from '../../src/client/client.js';
import { defaultPlannerSettings } from '../../src/core/planner/settings.js';
import type { ClusterSnapshot } from '../../src/core/snapshot/snapshot.js';
import { buildClusterView, type NodeMetrics, type NodeView, parseMetricsSources } from '../../src/core/view/index.js';
import { scrapeNodes } from '../../src/edge/http/scraper.js';
import { CLI_BIN, json, runCli } from '../integration/cli/cliRunner.js';
import { NodeCluster } from '../harness/nodes.js';
import { prometheusAvailability, type PrometheusServer, startPrometheus } from '../harness/prometheus.js';
import { waitSettled } from '../harness/settled.js';
import { waitFor } from '../harness/waitFor.js';
import { TmuxTerminal } from './tmux.js';

const SHARDS = 16;
/** The harness's scrape interval. */
const SCRAPE_MS = 1000;
/** Calls per second each node serves: enough for a rate to be measured to a few per cent in a second. */
const CALLS_PER_NODE = 40;
const SESSION = 'console';
const RENAMED = 'renamed.example:9100';

const prom = prometheusAvailability();

let cluster: NodeCluster;
let prometheus: PrometheusServer;
let client: GoverseClient;
let term: TmuxTerminal;
let load: SteadyLoad;
/** The instance label each node is scraped under, by node address. */
let instances: Map<string, string>;

const env = (): Record<string, string> => ({
  GOVERSE_ETCD_ENDPOINTS: cluster.etcd.endpoints.join(','),
  GOVERSE_ETCD_PREFIX: cluster.prefix,
  GOVERSE_NUM_SHARDS: String(SHARDS),
});

/**
 * Counter calls on a fixed schedule, round robin over `ids`: a late timer (a loaded machine) is caught up, not
 * dropped, so every second carries the same number of calls.
 */
class SteadyLoad {
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly ids: readonly string[],
    private readonly perSecond: number,
  ) {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async run(): Promise<void> {
    const start = performance.now();
    const inFlight = new Set<Promise<unknown>>();
    for (let sent = 0; !this.stopped; ) {
      const due = Math.floor(((performance.now() - start) * this.perSecond) / 1000);
      for (; sent < due && inFlight.size < 32; sent++) {
        const call: Promise<unknown> = client
          .call('Counter', this.ids[sent % this.ids.length]!, 'add', { amount: 1 })
          .catch(() => undefined)
          .finally(() => inFlight.delete(call));
        inFlight.add(call);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(inFlight);
  }
}

/** Object IDs spread evenly over the nodes: each node's pinned to one shard it owns (`shard#<n>/...`). */
function evenIds(snapshot: ClusterSnapshot): string[] {
  const perNode = 4;
  const ids: string[] = [];
  for (const node of cluster.nodes) {
    const shard = snapshot.shards.find((s) => s !== undefined && s.current === node.address)!.id;
    for (let k = 0; k < perNode; k++) ids.push(`shard#${shard}/steady-${node.address}-${k}`);
  }
  // Interleaved, so every node's calls are as evenly spaced as the schedule.
  return ids.map((_, i) => ids[(i % cluster.nodes.length) * perNode + Math.floor(i / cluster.nodes.length)]!);
}

/**
 * Direct scrapes of every node, kept for a few seconds: each one's rates are taken since the latest one at least a
 * scrape interval older, so they span what Prometheus's span (its last two samples, a scrape interval apart).
 */
class DirectScrapes {
  private readonly taken: { readonly at: number; readonly metrics: ReadonlyMap<string, NodeMetrics> }[] = [];

  /** Each node's figures now, as the console computes them (null rates until a scrape an interval older exists). */
  async take(): Promise<{ readonly at: number; readonly nodes: Map<string, NodeView> }> {
    const snapshot = await cluster.snapshot();
    const at = Date.now();
    const base = this.taken.findLast((t) => at - t.at >= SCRAPE_MS);
    const { metrics } = await scrapeNodes(snapshot, parseMetricsSources([]), base?.metrics ?? new Map(), { timeoutMs: 2000 });
    this.taken.push({ at, metrics });
    while (at - this.taken[0]!.at > 10 * SCRAPE_MS) this.taken.shift();
    const view = buildClusterView({ snapshot, now: Date.now(), stuckTimeoutMs: 60_000, balancer: { strategy: 'count', settings: defaultPlannerSettings(SHARDS) }, metrics });
    return { at, nodes: new Map(view.nodes.map((n) => [n.address, n])) };
  }

  /** `read` (through Prometheus) between two direct scrapes: what it read, when it began, and the figures just after. */
  async around<T>(read: () => Promise<T>): Promise<{ readonly value: T; readonly before: number; readonly direct: Map<string, NodeView> }> {
    const before = (await this.take()).at;
    const value = await read();
    return { value, before, direct: (await this.take()).nodes };
  }
}

const within = (a: number | null | undefined, b: number | null | undefined, share: number): boolean =>
  typeof a === 'number' && typeof b === 'number' && Math.abs(a - b) <= share * Math.max(a, b);

type JsonNode = Pick<NodeView, 'address' | 'objects' | 'callRate' | 'ready' | 'lockTimeouts' | 'shardsOwned'> & {
  readonly metrics: { readonly status: string; readonly url: string; readonly atMs: number };
};

describe.skipIf(!prom.available)(`node metrics through a real Prometheus${prom.available ? '' : ` (skipped: ${prom.reason})`}`, () => {
  beforeAll(async () => {
    cluster = await NodeCluster.start({ nodes: 0, numShards: SHARDS, label: 'prometheus-source' });
    await cluster.addNodes(3, {}, false);
    const [relabelled, plain, renamed] = cluster.nodes;
    instances = new Map([
      [relabelled!.address, relabelled!.address],
      [plain!.address, `127.0.0.1:${plain!.opsPort}`],
      [renamed!.address, RENAMED],
    ]);
    // Prometheus applies new targets on a 5 s tick: it starts first, the nodes meanwhile.
    prometheus = await startPrometheus({
      targets: cluster.nodes.map((n) => ({ address: `127.0.0.1:${n.opsPort}`, ...(instances.get(n.address) === `127.0.0.1:${n.opsPort}` ? {} : { instance: instances.get(n.address)! }) })),
      label: 'prometheus-source',
    });
    await Promise.all(cluster.nodes.map((n) => n.start()));
    const settled = await waitSettled(cluster);
    client = await GoverseClient.watching({ etcd: cluster.client, prefix: cluster.prefix, numShards: SHARDS });
    load = new SteadyLoad(evenIds(settled), CALLS_PER_NODE * cluster.nodes.length);
    await prometheus.waitTargetsUp(30_000);
    term = await TmuxTerminal.start('prometheus-source');
    const vars = Object.entries(env())
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    // CI and NO_COLOR from the test runner must not reach the console: it runs in a terminal of its own.
    await term.open(SESSION, `env -u CI -u NO_COLOR ${vars} ${process.execPath} ${CLI_BIN} top --refresh 1s --prometheus-url ${prometheus.url}`, 160, 40);
  }, 180_000);

  afterAll(async () => {
    await load?.stop();
    await client?.close();
    await term?.close();
    if (prometheus?.running) await prometheus.stop();
    await cluster?.close();
  });

  it('nodes -o json --prometheus-url agrees with direct scrapes around it: counts exactly, call rates within 10 %', async () => {
    const scrapes = new DirectScrapes();
    let last = '';
    await waitFor(
      'the figures through Prometheus to match direct scrapes',
      async () => {
        const { value: r, before, direct } = await scrapes.around(() => runCli(['nodes', '-o', 'json', '--prometheus-url', prometheus.url], env()));
        expect(r.code, r.stderr).toBe(0);
        const viaPrometheus = json<{ nodes: JsonNode[] }>(r).nodes;
        last = JSON.stringify({ viaPrometheus, direct: [...direct.values()].map((n) => [n.address, n.objects, n.callRate, n.shardsOwned]) });
        return (
          viaPrometheus.length === cluster.nodes.length &&
          viaPrometheus.every((p) => {
            const d = direct.get(p.address)!;
            return (
              p.metrics.status === 'ok' &&
              // Prometheus's sample is of the same scrape interval as the direct scrapes.
              p.metrics.atMs >= before - SCRAPE_MS &&
              (d.objects ?? 0) > 0 &&
              p.objects === d.objects &&
              p.ready === d.ready &&
              p.lockTimeouts === d.lockTimeouts &&
              p.shardsOwned === d.shardsOwned &&
              (d.callRate ?? 0) > CALLS_PER_NODE / 2 &&
              within(p.callRate, d.callRate, 0.1)
            );
          })
        );
      },
      { timeoutMs: 90_000, intervalMs: 200, describe: () => last },
    );
    // Each node was found by its own rule: its address, its ops host:port, the node label of its series.
    const r = json<{ nodes: JsonNode[] }>(await runCli(['nodes', '-o', 'json', '--prometheus-url', prometheus.url], env()));
    for (const n of r.nodes) expect(n.metrics.url).toBe(`${prometheus.url} instance ${instances.get(n.address)}`);
  });

  it('the console reads them through Prometheus too: its node rows agree with direct scrapes around the screen', async () => {
    // The nodes pane, as an operator opens it.
    for (const k of [':', 'n', 'o', 'd', 'e', 's']) await term.keys(SESSION, [k], true);
    await term.keys(SESSION, ['Enter']);
    const scrapes = new DirectScrapes();
    let last = '';
    await waitFor(
      'the nodes pane to agree with direct scrapes',
      async () => {
        const { value: screen, direct } = await scrapes.around(() => term.screen(SESSION));
        last = `${screen}\ndirect: ${JSON.stringify([...direct.values()].map((n) => [n.address, n.objects, n.callRate]))}`;
        if (!/metrics 3\/3 via prom/.test(screen)) return false;
        return [...direct.values()].every((d) => {
          // NODE ST RDY TGT/IDEAL OWN OBJ CALL/s ...
          const row = screen.split('\n').map((l) => l.trim().split(/\s+/)).find((cells) => cells[0] === d.address) ?? [];
          return row[5] === String(d.objects) && within(Number(row[6]), d.callRate, 0.1);
        });
      },
      { timeoutMs: 90_000, intervalMs: 200, describe: () => `screen:\n${last}` },
    );
  });

  it('a server that is not there, or not Prometheus, exits scripts with 1 naming it; the console header says it fails and why', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const missing = `http://127.0.0.1:${closed}`;
    const gone = await runCli(['nodes', '-o', 'json', '--prometheus-url', missing], env());
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`cannot read node metrics from Prometheus at ${missing}`);
    // A node's ops endpoint answers HTTP, but not as Prometheus does.
    const notPrometheus = cluster.nodes[0]!.opsUrl;
    const wrong = await runCli(['nodes', '--prometheus-url', notPrometheus], env());
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`cannot read node metrics from Prometheus at ${notPrometheus}`);

    await prometheus.stop();
    let last = '';
    await waitFor(
      'the header to show Prometheus failing, naming it',
      async () => {
        last = await term.screen(SESSION);
        // Why, in the words of the failed connection to its port.
        return last.includes('✖ PROMETHEUS FAILING') && last.includes(`ECONNREFUSED 127.0.0.1:${prometheus.port}`);
      },
      { timeoutMs: 30_000, intervalMs: 200, describe: () => `screen:\n${last}` },
    );
  });
});
