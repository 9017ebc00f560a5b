/**
 * `npm run bench -- node-calls [--concurrency N] [--seconds S] [--rounds N] [--objects N] [--db-dir DIR]
 * [--db-synchronous full|normal]`: object calls per second
 * through the routing client against a 3-node cluster (private etcd, three goverse-node processes from dist/, as
 * the test harness starts them), beside a bare `node:http` echo server (one process) driven by the same load
 * generator at the same concurrency in the same run.
 *
 * Headline: `Echo.echo` (a transient type: routing, shard read lock, activation lookup, JSON and HTTP, no storage)
 * against the bare echo. Detail: `Counter.increment` with a requestId, which writes through to SQLite before each
 * reply (the cost of an acknowledged, durable change); its database is where the test harness puts it (tmpfs, so
 * fsync costs nothing) unless `--db-dir` names a directory on a real disk. After a warm-up, each round runs bare, client Echo and
 * client Counter back to back; the ratios are the medians of the per-round ratios (a round's three runs share the
 * machine's load of the moment), the rates the medians of the rounds. Needs `npm run build` first.
 */
import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { GoverseClient } from '../src/client/client.js';
import { freePorts } from '../test/harness/etcd.js';
import { NodeCluster } from '../test/harness/nodes.js';
import { spawnManaged } from '../test/harness/processes.js';
import { waitSettled } from '../test/harness/settled.js';
import { waitFor } from '../test/harness/waitFor.js';
import { drive, median } from './_load.js';

const NUM_SHARDS = 256;

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

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const concurrency = option(args, '--concurrency', 32);
  const ms = option(args, '--seconds', 1) * 1000;
  const rounds = option(args, '--rounds', 15);
  const objects = option(args, '--objects', 1000);
  const dbDir = textOption(args, '--db-dir');
  const dbSynchronous = textOption(args, '--db-synchronous') ?? 'full';
  const log = (s: string): boolean => process.stderr.write(`${s}\n`);
  const dbPath = dbDir === undefined ? undefined : join(dbDir, `goverse-bench-${process.pid}.sqlite`);
  const env: Record<string, string> = { GOVERSE_LOG_LEVEL: 'info', GOVERSE_DB_SYNCHRONOUS: dbSynchronous };
  if (dbPath !== undefined) env.GOVERSE_DB_PATH = dbPath;

  log(`starting etcd, 3 goverse-node processes (${NUM_SHARDS} shards) and a bare echo server`);
  const cluster = await NodeCluster.start({ nodes: 3, numShards: NUM_SHARDS, label: 'bench-node-calls', env });
  const [echoPort] = await freePorts(1);
  const echo = spawnManaged('bench echo server', process.execPath, ['-e', ECHO_SERVER, String(echoPort)]);
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
  let client: GoverseClient | null = null;
  try {
    await waitSettled(cluster);
    await waitFor('every node ready', async () => (await Promise.all(cluster.nodes.map((n) => n.ready()))).every((r) => r.status === 200), {
      timeoutMs: 30_000,
    });
    client = await GoverseClient.watching({ etcd: cluster.client, prefix: cluster.prefix, numShards: NUM_SHARDS, timeoutMs: 30_000 });
    const c = client;
    const body = (w: number, n: number) => ({ worker: w, n, payload: 'x'.repeat(64) });
    const subjects: Record<'bare' | 'echo' | 'counter', (w: number, n: number) => Promise<void>> = {
      bare: (w, n) => bareCall(agent, echoPort!, JSON.stringify({ type: 'Echo', id: `e${(w * 7919 + n) % objects}`, method: 'echo', args: body(w, n) })),
      echo: async (w, n) => void (await c.call('Echo', `e${(w * 7919 + n) % objects}`, 'echo', body(w, n))),
      counter: async (w, n) => void (await c.call('Counter', `c${(w * 7919 + n) % objects}`, 'increment', { requestId: `${w}/${n}` })),
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
      counterDb: `${dbDir ?? 'tmpfs (harness temp dir)'}, synchronous=${dbSynchronous}`,
      concurrency,
      seconds: ms / 1000,
      rounds,
    };
  } finally {
    await client?.close();
    agent.destroy();
    await echo.stop('SIGTERM');
    await cluster.close();
    if (dbPath !== undefined) for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  }
}
