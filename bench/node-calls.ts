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
 * 2. Durable stores side by side: three one-node clusters on one etcd, one with SQLite `--db-synchronous full` (every
 *    commit fsynced: an acknowledgement survives power loss), one with `normal`, each with its own database in the
 *    same directory, and one on a private PostgreSQL (fsync and synchronous_commit on: as durable as `full`); the
 *    same load (`Counter.increment` with a requestId) on each in turn, round by round, all with group commit.
 *    `durableOverNormal` and `postgresOverSqlite` (PostgreSQL over SQLite `full`) are medians of the per-round
 *    ratios; `durableP99Ms` and `postgresP99Ms` the 99th percentile latencies of every call of the rounds.
 *
 * The databases (the SQLite files and the PostgreSQL data dir) live under `--db-dir` (default: the repository's
 * `.tmp/`, on the machine's disk; never the harness's tmpfs, where fsync costs nothing), named in the output with
 * their file system and device.
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
import { startPostgres } from '../test/harness/postgres.js';
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

type Store = 'full' | 'normal' | 'postgres';

/**
 * Part 2: Counter calls on one node per store, same disk, same load: SQLite with synchronous=full, with normal, and
 * PostgreSQL (a private server, data dir in `pgBase`, fsync and synchronous_commit on), all with group commit.
 */
async function durableStores(load: Load, dbDir: string, pgBase: string, log: Log): Promise<Record<string, unknown>> {
  const { concurrency, ms, rounds, objects } = load;
  const stores: readonly Store[] = ['full', 'normal', 'postgres'];
  log(`starting etcd, a private PostgreSQL (data in ${diskOf(pgBase)}) and three one-node clusters (SQLite full, SQLite normal, PostgreSQL)`);
  const [etcd, pg] = await Promise.all([startEtcd('bench-node-calls-durable'), startPostgres({ label: 'bench-node-calls', baseDir: pgBase })]);
  const clusters: NodeCluster[] = [];
  const clients: GoverseClient[] = [];
  try {
    log(`PostgreSQL: fsync ${await pg.psql('SHOW fsync')}, synchronous_commit ${await pg.psql('SHOW synchronous_commit')} (the node forces it on), wal_sync_method ${await pg.psql('SHOW wal_sync_method')}`);
    for (const store of stores) {
      const env: Record<string, string> =
        store === 'postgres'
          ? { GOVERSE_LOG_LEVEL: 'info', ...pg.nodeEnv() }
          : { GOVERSE_LOG_LEVEL: 'info', GOVERSE_DB_SYNCHRONOUS: store, GOVERSE_DB_PATH: join(dbDir, `one-node-${store}.sqlite`) };
      clusters.push(await NodeCluster.start({ nodes: 1, numShards: NUM_SHARDS, etcd, prefix: uniquePrefix(`bench-${store}`), label: `bench-${store}`, env }));
    }
    for (const cluster of clusters) clients.push(await readyClient(cluster));
    const subjects = stores.map((store, i) => increment(clients[i]!, objects, store));
    log('warming up the three nodes');
    for (const once of subjects) await drive(concurrency, 3000, once);
    const rates: Record<Store, number[]> = { full: [], normal: [], postgres: [] };
    const latencies: Record<Store, number[]> = { full: [], normal: [], postgres: [] };
    for (let r = 0; r < rounds; r++) {
      for (const [i, store] of stores.entries()) rates[store].push(await drive(concurrency, ms, subjects[i]!, latencies[store]));
      log(`round ${r + 1}/${rounds}: Counter SQLite full ${rates.full[r]!.toFixed(0)}/s, normal ${rates.normal[r]!.toFixed(0)}/s, PostgreSQL ${rates.postgres[r]!.toFixed(0)}/s`);
    }
    const ratio = (a: Store, b: Store): number => Number(median(rates[a].map((rate, r) => rate / rates[b][r]!)).toFixed(2));
    return {
      durableCallsPerSec: Math.round(median(rates.full)),
      normalCallsPerSec: Math.round(median(rates.normal)),
      durableOverNormal: ratio('full', 'normal'),
      durableP99Ms: Number(quantile(latencies.full, 0.99).toFixed(2)),
      durableDb: `${diskOf(dbDir)}, one goverse-node per synchronous mode`,
      postgresCallsPerSec: Math.round(median(rates.postgres)),
      postgresOverSqlite: ratio('postgres', 'full'),
      postgresP99Ms: Number(quantile(latencies.postgres, 0.99).toFixed(2)),
      postgresDb: `${diskOf(pg.dataDir)}, PostgreSQL ${await pg.psql('SHOW server_version')}, synchronous_commit on, one goverse-node`,
    };
  } finally {
    for (const c of clients) await c.close();
    for (const c of clusters) await c.close();
    await Promise.all([etcd.close(), pg.close()]);
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
    const second = await durableStores(load, dbDir, base, log);
    return { ...first, ...second, concurrency: load.concurrency, seconds: load.ms / 1000, rounds: load.rounds, objects: load.objects };
  } finally {
    rmSync(dbDir, { recursive: true, force: true });
  }
}
