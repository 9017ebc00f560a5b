/**
 * `npm run bench -- node-calls [--concurrency N] [--seconds S] [--rounds N] [--objects N] [--db-dir DIR]
 * [--db-synchronous full|normal]`: object calls per second through the routing client, in two parts, one run.
 *
 * 1. Against a 3-node cluster (private etcd, three goverse-node processes from dist/, as the test harness starts
 *    them), beside a bare `node:http` echo server (one process) driven by the same load generator at the same
 *    concurrency. Headline: `Echo.echo` (a transient type: routing, shard read lock, activation lookup, JSON and
 *    HTTP, no storage) against the bare echo. Detail: `Counter.increment` with a requestId, written through to
 *    SQLite before each reply (`--db-synchronous`, default full). After a warm-up, each round runs bare, client Echo
 *    and client Counter back to back; the ratios are the medians of the per-round ratios (a round's three runs share
 *    the machine's load of the moment), the rates the medians of the rounds.
 * 2. Durable against normal: two one-node clusters on one etcd, one with `--db-synchronous full` (every commit
 *    fsynced: an acknowledgement survives power loss), one with `normal`, each with its own database in the same
 *    directory; the same load (`Counter.increment` with a requestId) on each in turn, round by round.
 *    `durableOverNormal` is the median of the per-round ratios; `durableP99Ms` the 99th percentile latency of every
 *    durable call of the rounds. Group commit is what brings the two close: one fsync per group of calls.
 *
 * The databases live in a fresh directory under `--db-dir` (default: the repository's `.tmp/`, on the machine's
 * disk; never the harness's tmpfs, where fsync costs nothing), named in the output with its file system and device.
 * Needs `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GoverseClient } from '../src/client/client.js';
import { freePorts, startEtcd } from '../test/harness/etcd.js';
import { NodeCluster } from '../test/harness/nodes.js';
import { uniquePrefix } from '../test/harness/prefix.js';
import { spawnManaged } from '../test/harness/processes.js';
import { waitSettled } from '../test/harness/settled.js';
import { waitFor } from '../test/harness/waitFor.js';
import { drive, median, quantile } from './_load.js';

const NUM_SHARDS = 256;
/** On the machine's disk (git ignores it). */
const DEFAULT_DB_DIR = fileURLToPath(new URL('../.tmp/', import.meta.url));

function textOption(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!(n > 0)) throw new Error(`${name} needs a positive number, got ${JSON.stringify(args[i + 1])}`);
  return n;
}

/** The baseline: answers every POST with its body, nothing else. Runs in its own process, as a node does. */
const ECHO_SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 30000;
server.listen(Number(process.argv[1]), '127.0.0.1');
`;

function bareCall(agent: Agent, port: number, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`echo server answered ${res.statusCode}`));
          JSON.parse(text);
          resolve();
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `<dir> (<fs type> on <device>)` from `df`, so the output says which disk the databases were on. */
function diskOf(dir: string): string {
  try {
    const [, line] = execFileSync('df', ['-PT', dir], { encoding: 'utf8' }).trim().split('\n');
    const [device, type] = line!.split(/\s+/);
    return `${dir} (${type} on ${device})`;
  } catch {
    return `${dir} (file system unknown: df failed)`;
  }
}

type Log = (s: string) => void;

interface Load {
  readonly concurrency: number;
  readonly ms: number;
  readonly rounds: number;
  readonly objects: number;
}

/** A client over a cluster with every node ready. */
async function readyClient(cluster: NodeCluster): Promise<GoverseClient> {
  await waitSettled(cluster);
  await waitFor('every node ready', async () => (await Promise.all(cluster.nodes.map((n) => n.ready()))).every((r) => r.status === 200), {
    timeoutMs: 30_000,
  });
  return GoverseClient.watching({ etcd: cluster.client, prefix: cluster.prefix, numShards: NUM_SHARDS, timeoutMs: 30_000 });
}

const increment = (c: GoverseClient, objects: number, tag: string) => async (w: number, n: number) =>
  void (await c.call('Counter', `c${(w * 7919 + n) % objects}`, 'increment', { requestId: `${tag}/${w}/${n}` }));

/** Part 1: Echo and Counter through 3 nodes beside a bare HTTP echo. */
async function againstBareHttp(load: Load, dbDir: string, dbSynchronous: string, log: Log): Promise<Record<string, unknown>> {
  const { concurrency, ms, rounds, objects } = load;
  const env = { GOVERSE_LOG_LEVEL: 'info', GOVERSE_DB_SYNCHRONOUS: dbSynchronous, GOVERSE_DB_PATH: join(dbDir, 'three-nodes.sqlite') };
  log(`starting etcd, 3 goverse-node processes (${NUM_SHARDS} shards) and a bare echo server`);
  const cluster = await NodeCluster.start({ nodes: 3, numShards: NUM_SHARDS, label: 'bench-node-calls', env });
  const [echoPort] = await freePorts(1);
  const echo = spawnManaged('bench echo server', process.execPath, ['-e', ECHO_SERVER, String(echoPort)]);
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
  let client: GoverseClient | null = null;
  try {
    client = await readyClient(cluster);
    const c = client;
    const body = (w: number, n: number) => ({ worker: w, n, payload: 'x'.repeat(64) });
    const subjects: Record<'bare' | 'echo' | 'counter', (w: number, n: number) => Promise<void>> = {
      bare: (w, n) => bareCall(agent, echoPort!, JSON.stringify({ type: 'Echo', id: `e${(w * 7919 + n) % objects}`, method: 'echo', args: body(w, n) })),
      echo: async (w, n) => void (await c.call('Echo', `e${(w * 7919 + n) % objects}`, 'echo', body(w, n))),
      counter: increment(c, objects, 'three'),
    };
    await waitFor('the echo server', () => bareCall(agent, echoPort!, '{}').then(() => true), { timeoutMs: 10_000 });
    log('warming up (activates the objects, opens the connections, lets the nodes optimise their code)');
    for (const once of Object.values(subjects)) await drive(concurrency, 3000, once);
    const results: Record<keyof typeof subjects, number[]> = { bare: [], echo: [], counter: [] };
    for (let r = 0; r < rounds; r++) {
      for (const name of Object.keys(subjects) as (keyof typeof subjects)[]) {
        results[name].push(await drive(concurrency, ms, subjects[name]));
      }
      log(
        `round ${r + 1}/${rounds}: bare ${results.bare[r]!.toFixed(0)}/s, client Echo ${results.echo[r]!.toFixed(0)}/s, ` +
          `client Counter ${results.counter[r]!.toFixed(0)}/s`,
      );
    }
    const perRound = (name: 'echo' | 'counter'): number => median(results[name].map((rate, r) => rate / results.bare[r]!));
    return {
      clientCallsPerSec: Math.round(median(results.echo)),
      bareHttpPerSec: Math.round(median(results.bare)),
      ratio: Number(perRound('echo').toFixed(2)),
      headlineType: 'Echo (not persisted)',
      counterCallsPerSec: Math.round(median(results.counter)),
      counterRatio: Number(perRound('counter').toFixed(2)),
      counterDb: `${diskOf(dbDir)}, synchronous=${dbSynchronous}`,
    };
  } finally {
    await client?.close();
    agent.destroy();
    await echo.stop('SIGTERM');
    await cluster.close();
  }
}

/** Part 2: Counter calls on one node with synchronous=full against one with normal, same disk, same load. */
async function durableAgainstNormal(load: Load, dbDir: string, log: Log): Promise<Record<string, unknown>> {
  const { concurrency, ms, rounds, objects } = load;
  const modes = ['full', 'normal'] as const;
  log(`starting etcd and two one-node clusters (synchronous full and normal), databases in ${diskOf(dbDir)}`);
  const etcd = await startEtcd('bench-node-calls-durable');
  const clusters: NodeCluster[] = [];
  const clients: GoverseClient[] = [];
  try {
    for (const mode of modes) {
      const env = { GOVERSE_LOG_LEVEL: 'info', GOVERSE_DB_SYNCHRONOUS: mode, GOVERSE_DB_PATH: join(dbDir, `one-node-${mode}.sqlite`) };
      clusters.push(await NodeCluster.start({ nodes: 1, numShards: NUM_SHARDS, etcd, prefix: uniquePrefix(`bench-${mode}`), label: `bench-${mode}`, env }));
    }
    for (const cluster of clusters) clients.push(await readyClient(cluster));
    const subjects = modes.map((mode, i) => increment(clients[i]!, objects, mode));
    log('warming up both nodes');
    for (const once of subjects) await drive(concurrency, 3000, once);
    const rates: Record<(typeof modes)[number], number[]> = { full: [], normal: [] };
    const durableLatencies: number[] = [];
    for (let r = 0; r < rounds; r++) {
      rates.full.push(await drive(concurrency, ms, subjects[0]!, durableLatencies));
      rates.normal.push(await drive(concurrency, ms, subjects[1]!));
      log(`round ${r + 1}/${rounds}: Counter synchronous=full ${rates.full[r]!.toFixed(0)}/s, normal ${rates.normal[r]!.toFixed(0)}/s`);
    }
    return {
      durableCallsPerSec: Math.round(median(rates.full)),
      normalCallsPerSec: Math.round(median(rates.normal)),
      durableOverNormal: Number(median(rates.full.map((rate, r) => rate / rates.normal[r]!)).toFixed(2)),
      durableP99Ms: Number(quantile(durableLatencies, 0.99).toFixed(2)),
      durableDb: `${diskOf(dbDir)}, one goverse-node per synchronous mode`,
    };
  } finally {
    for (const c of clients) await c.close();
    for (const c of clusters) await c.close();
    await etcd.close();
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const load: Load = {
    concurrency: option(args, '--concurrency', 32),
    ms: option(args, '--seconds', 1) * 1000,
    rounds: option(args, '--rounds', 15),
    objects: option(args, '--objects', 1000),
  };
  const base = textOption(args, '--db-dir') ?? DEFAULT_DB_DIR;
  const dbSynchronous = textOption(args, '--db-synchronous') ?? 'full';
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  mkdirSync(base, { recursive: true });
  const dbDir = mkdtempSync(join(base, 'bench-node-calls-'));
  try {
    const first = await againstBareHttp(load, dbDir, dbSynchronous, log);
    const second = await durableAgainstNormal(load, dbDir, log);
    return { ...first, ...second, concurrency: load.concurrency, seconds: load.ms / 1000, rounds: load.rounds, objects: load.objects };
  } finally {
    rmSync(dbDir, { recursive: true, force: true });
  }
}
