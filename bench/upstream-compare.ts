/**
 * `npm run bench -- upstream-compare [--shards N] [--concurrency N] [--objects N] [--rounds N] [--seconds S]
 * [--db-dir DIR]`: goverse-node against real upstream Goverse, side by side in one run, on one private etcd (each
 * side under its own prefix), with the same settings on both sides: 8,192 shards, a stability duration of 10 s, a
 * node lease TTL of 15 s and a shard check every 5 s (upstream's defaults; its lease TTL and check interval are fixed,
 * ours are set to match). Needs `npm run build` and the upstream kit (its binaries are built on demand).
 *
 * Each side, in turn:
 * - coldStart: one node starts on an empty keyspace; from the spawn until it has claimed every shard;
 * - scaleOut: a second node joins; from its spawn until every shard is claimed (no move in flight) and the spread
 *   between the two is within the count balancer's threshold (0.2 of the ideal share, both sides' rule);
 * - scaleIn: the second node stops gracefully (SIGTERM); from the signal until the first node owns every shard.
 * Then object calls, 32 concurrent callers over 1,000 counters, each through its side's standard client path: ours
 * the routing client to goverse-node (`Counter.increment` with a requestId, written through to SQLite), upstream's
 * REST calls to its gate, which forwards them over gRPC to its node (`Counter.Increment`, kept in memory). Upstream's
 * counter keeps no state on disk, so the headline ratio runs goverse-node with `--db-synchronous normal`; the durable
 * figure (`full`) follows. Both databases are on the machine's disk (the OS temp dir, not tmpfs) unless --db-dir
 * names another. Rounds alternate between the sides; a ratio is the median of the per-round ratios.
 *
 * Ratios: upstream time / our time for the three membership changes, our calls/s / upstream's for calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GoverseClient } from '../src/client/client.js';
import { createEtcdClient } from '../src/edge/etcd/client.js';
import { startEtcd } from '../test/harness/etcd.js';
import { NodeCluster } from '../test/harness/nodes.js';
import { uniquePrefix } from '../test/harness/prefix.js';
import { UpstreamCluster, upstreamBinaries } from '../test/harness/upstream.js';
import type { UpstreamGateClient } from '../test/harness/upstreamGate.js';
import { waitFor } from '../test/harness/waitFor.js';
import { drive, median } from './_load.js';
import { integerOption } from './_options.js';
import { allOwnedBy, balancedOver, OwnershipWatch } from './_ownership.js';

const STABILITY_MS = 10_000;
const LEASE_TTL_MS = 15_000;
const SHARD_CHECK_MS = 5_000;
const STUCK_TIMEOUT_MS = 60_000;
const IMBALANCE_THRESHOLD = 0.2;
/** Generous: upstream's scale-out moves 64 shards per batch, one batch every few seconds. */
const PHASE_TIMEOUT_MS = 20 * 60_000;

/** goverse-node with upstream's defaults, where the harness's fast test settings would differ. */
const OUR_ENV: Readonly<Record<string, string>> = {
  GOVERSE_STABILITY_DURATION: `${STABILITY_MS}ms`,
  GOVERSE_LEASE_TTL: `${LEASE_TTL_MS}ms`,
  GOVERSE_SHARD_CHECK_INTERVAL: `${SHARD_CHECK_MS}ms`,
  GOVERSE_STUCK_TIMEOUT: `${STUCK_TIMEOUT_MS}ms`,
  GOVERSE_SHUTDOWN_TIMEOUT: '30s',
  GOVERSE_IMBALANCE_THRESHOLD: String(IMBALANCE_THRESHOLD),
  GOVERSE_LOG_LEVEL: 'info',
};

interface Membership {
  coldStartMs: number;
  scaleOutMs: number;
  scaleInMs: number;
}

const log = (s: string): void => void process.stderr.write(`${s}\n`);
const round = (x: number, digits = 0): number => Number(x.toFixed(digits));

/** Logs the ownership every 10 s while `phase` runs, so a slow side shows its progress. */
async function timed(side: string, phase: string, watch: OwnershipWatch, run: () => Promise<number>): Promise<number> {
  const started = performance.now();
  const ticker = setInterval(() => log(`  ${side} ${phase}: ${((performance.now() - started) / 1000).toFixed(0)} s, ${watch.describe()}`), 10_000);
  try {
    const ms = await run();
    log(`${side} ${phase}: ${(ms / 1000).toFixed(1)} s`);
    return ms;
  } finally {
    clearInterval(ticker);
  }
}

/**
 * The three membership changes against one side. `start` spawns the first node, `join` the second, `leave` sends
 * the second SIGTERM; each returns once the process is running or signalled, and the watch times the outcome.
 */
async function membership(
  side: string,
  watch: OwnershipWatch,
  steps: { start(): Promise<string>; join(): Promise<string>; leave(): Promise<void> },
): Promise<Membership> {
  let first = '';
  const coldStartMs = await timed(side, 'coldStart', watch, async () => {
    const t0 = performance.now();
    first = await steps.start();
    return (await watch.until(`${first} owning every shard`, allOwnedBy(first), PHASE_TIMEOUT_MS)) - t0;
  });
  const scaleOutMs = await timed(side, 'scaleOut', watch, async () => {
    const t0 = performance.now();
    const second = await steps.join();
    return (await watch.until('a balanced two-node cluster', balancedOver([first, second], IMBALANCE_THRESHOLD), PHASE_TIMEOUT_MS)) - t0;
  });
  const scaleInMs = await timed(side, 'scaleIn', watch, async () => {
    const t0 = performance.now();
    const done = watch.until(`${first} owning every shard again`, allOwnedBy(first), PHASE_TIMEOUT_MS);
    await steps.leave();
    return (await done) - t0;
  });
  return { coldStartMs, scaleOutMs, scaleInMs };
}

/** Alternating rounds of two subjects after a warm-up of each; the median rates and the median per-round ratio. */
async function compareCalls(
  label: string,
  options: { concurrency: number; ms: number; rounds: number },
  ours: (w: number, n: number) => Promise<unknown>,
  theirs: (w: number, n: number) => Promise<unknown>,
): Promise<{ ours: number; upstream: number; ratio: number }> {
  log(`${label}: warming up both sides (activates the counters, opens the connections)`);
  await drive(options.concurrency, 3000, ours);
  await drive(options.concurrency, 3000, theirs);
  const o: number[] = [];
  const u: number[] = [];
  for (let r = 0; r < options.rounds; r++) {
    o.push(await drive(options.concurrency, options.ms, ours));
    u.push(await drive(options.concurrency, options.ms, theirs));
    log(`${label} round ${r + 1}/${options.rounds}: ours ${o[r]!.toFixed(0)}/s, upstream ${u[r]!.toFixed(0)}/s`);
  }
  return { ours: median(o), upstream: median(u), ratio: median(o.map((x, i) => x / u[i]!)) };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const numShards = integerOption(args, '--shards', 8192);
  const concurrency = integerOption(args, '--concurrency', 32);
  const objects = integerOption(args, '--objects', 1000);
  const rounds = integerOption(args, '--rounds', 5);
  const seconds = integerOption(args, '--seconds', 3);
  const dbDirArg = args.indexOf('--db-dir') >= 0 ? args[args.indexOf('--db-dir') + 1] : undefined;
  if (args.includes('--db-dir') && (dbDirArg === undefined || dbDirArg.startsWith('--'))) throw new Error('--db-dir needs a directory');
  const dbDir = mkdtempSync(join(dbDirArg ?? tmpdir(), 'goverse-bench-upstream-compare-'));
  const callOptions = { concurrency, ms: seconds * 1000, rounds };

  log('building (or finding) the upstream binaries');
  const binaries = upstreamBinaries();
  await binaries;
  const etcd = await startEtcd('bench-upstream-compare');
  const etcdClient = createEtcdClient({ endpoints: etcd.endpoints });
  const ourPrefix = uniquePrefix('bench-ours');
  const upstreamPrefix = uniquePrefix('bench-upstream');
  const watches = { ours: await OwnershipWatch.start(etcdClient, ourPrefix, numShards), upstream: await OwnershipWatch.start(etcdClient, upstreamPrefix, numShards) };
  const running: { ours?: NodeCluster; upstream?: UpstreamCluster } = {};
  let client: GoverseClient | null = null;
  let gate: UpstreamGateClient | null = null;
  try {
    const ourEnv = { ...OUR_ENV, GOVERSE_DB_SYNCHRONOUS: 'normal', GOVERSE_DB_PATH: join(dbDir, 'normal.sqlite') };
    log(`ours: goverse-node, ${numShards} shards, stability ${STABILITY_MS} ms, lease TTL ${LEASE_TTL_MS} ms`);
    const oursTimes = await membership('ours', watches.ours, {
      start: async () => {
        running.ours = await NodeCluster.start({ etcd, nodes: 1, numShards, prefix: ourPrefix, label: 'bench-ours', env: ourEnv });
        return running.ours.node(0).address;
      },
      join: async () => (await running.ours!.addNodes(1, ourEnv))[0]!.address,
      leave: async () => void (await running.ours!.node(1).stop(60_000)),
    });

    log(`upstream: counter sample, ${numShards} shards, stability ${STABILITY_MS} ms, lease TTL ${LEASE_TTL_MS} ms (fixed)`);
    const upstreamTimes = await membership('upstream', watches.upstream, {
      start: async () => {
        running.upstream = await UpstreamCluster.start({
          etcd,
          prefix: upstreamPrefix,
          nodes: 1,
          gates: 0,
          numShards,
          stabilityMs: STABILITY_MS,
          stuckTimeoutMs: STUCK_TIMEOUT_MS,
          label: 'bench-upstream',
          binaries,
        });
        return running.upstream.node(0).address;
      },
      join: async () => (await running.upstream!.addNodes(1))[0]!.address,
      leave: async () => void (await running.upstream!.node(1).stop(60_000)),
    });

    // Calls: each side's first node alone, its standard client path.
    const { ours: o, upstream: u } = running;
    if (o === undefined || u === undefined) throw new Error('a cluster did not start');
    await u.addGate();
    await u.waitGatesReady(60_000);
    gate = u.gate().client();
    const g = gate;
    client = await GoverseClient.watching({ etcd: o.client, prefix: o.prefix, numShards, timeoutMs: 30_000 });
    const c = client;
    const key = (w: number, n: number): number => (w * 7919 + n) % objects;
    // A fresh requestId per call: a repeated one would be answered from the counter's memory of recent requests.
    let sequence = 0;
    const ourCall = (w: number, n: number): Promise<unknown> => c.call('Counter', `c${key(w, n)}`, 'increment', { requestId: String(++sequence) });
    const upstreamCall = (w: number, n: number): Promise<unknown> => g.increment(`Counter-${key(w, n)}`, 1);
    const calls = await compareCalls('calls (ours: synchronous=normal)', callOptions, ourCall, upstreamCall);

    // Durable: the same node restarted with synchronous=full and a fresh database on disk.
    log('ours: restarting goverse-node with --db-synchronous full');
    const first = o.node(0);
    await first.stop(60_000);
    await first.start({ GOVERSE_DB_SYNCHRONOUS: 'full', GOVERSE_DB_PATH: join(dbDir, 'full.sqlite') });
    await watches.ours.until(`${first.address} owning every shard after its restart`, allOwnedBy(first.address), PHASE_TIMEOUT_MS);
    await waitFor('goverse-node ready', async () => (await first.ready()).status === 200, { timeoutMs: 60_000, intervalMs: 200 });
    const durable = await compareCalls('calls (ours: synchronous=full)', callOptions, ourCall, upstreamCall);

    const ratio = (theirs: number, mine: number): number => round(theirs / mine, 2);
    return {
      coldStartRatio: ratio(upstreamTimes.coldStartMs, oursTimes.coldStartMs),
      scaleOutRatio: ratio(upstreamTimes.scaleOutMs, oursTimes.scaleOutMs),
      scaleInRatio: ratio(upstreamTimes.scaleInMs, oursTimes.scaleInMs),
      callsRatio: round(calls.ratio, 2),
      durableCallsRatio: round(durable.ratio, 2),
      ours: {
        coldStartMs: round(oursTimes.coldStartMs),
        scaleOutMs: round(oursTimes.scaleOutMs),
        scaleInMs: round(oursTimes.scaleInMs),
        callsPerSec: round(calls.ours),
        durableCallsPerSec: round(durable.ours),
        db: `${dbDir} (synchronous=normal for callsPerSec, full for durableCallsPerSec)`,
      },
      upstream: {
        coldStartMs: round(upstreamTimes.coldStartMs),
        scaleOutMs: round(upstreamTimes.scaleOutMs),
        scaleInMs: round(upstreamTimes.scaleInMs),
        callsPerSec: round(calls.upstream),
        callsPerSecBesideDurable: round(durable.upstream),
      },
      settings: { numShards, stabilityMs: STABILITY_MS, leaseTtlMs: LEASE_TTL_MS, shardCheckMs: SHARD_CHECK_MS, concurrency, objects, rounds, seconds },
    };
  } finally {
    await client?.close();
    gate?.close();
    await Promise.all([watches.ours.cancel(), watches.upstream.cancel()]);
    await running.ours?.close();
    await running.upstream?.close();
    await etcdClient.close();
    await etcd.close();
    rmSync(dbDir, { recursive: true, force: true });
  }
}
