/**
 * `npm run bench -- shard-lock [--rounds N] [--scale F]`: our ShardLock against async-mutex, the most downloaded
 * npm lock library, in the same run and on the same pseudo-random workload.
 *
 * async-mutex has no read/write lock, so the headline compares exclusive locking on both sides: our per-shard
 * write lock against one async-mutex Mutex per shard (created up front, which favours the peer: we create and drop
 * shard entries on the fly). Headline = geometric mean of the ops/s of three contention levels:
 *   uncontended  1 worker, 8192 shards, acquire then release (pure lock overhead)
 *   low          64 workers, 8192 shards, each holding across one await
 *   high         64 workers, 4 shards, each holding across one await
 * Detail only: a 90/10 read/write mix on 16 shards against the peer's weighted Semaphore (readers weight 1, writers
 * the full weight; its FIFO queue makes that a writer-preferring RW lock), multi-shard writes (1-4 shards, sorted)
 * against sorted Mutex acquisition, and our synchronous fast path. Rounds alternate ours/peer; medians are reported.
 */
import { Mutex, Semaphore } from 'async-mutex';
import { ShardLock, type ShardLockHandle } from '../src/cluster/shardLock.js';
import { prng } from '../test/unit/cluster/prng.js';

/** One implementation under test. `R` is what an acquisition returns and its release takes back. */
interface Subject<R> {
  readonly name: string;
  read(shard: number): Promise<R>;
  write(shard: number): Promise<R>;
  writeMany(shards: number[]): Promise<R>;
  release(r: R): void;
}

interface Scenario {
  readonly name: string;
  readonly shards: number;
  readonly workers: number;
  readonly ops: number;
  /** Hold across one await, so that holds of different workers overlap. */
  readonly awaitInside: boolean;
  readonly kind: 'exclusive' | 'mixed' | 'multi';
}

interface RunResult {
  readonly opsPerSec: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

const READ_SHARE = 0.9;
const MAX_MULTI = 4;
/** Latency is sampled on one op in this many, to keep the clock reads from dominating the uncontended case. */
const SAMPLE_EVERY = 8;

function ours(): Subject<ShardLockHandle> {
  const lock = new ShardLock();
  return {
    name: 'ours',
    read: (s) => lock.acquireRead(s),
    write: (s) => lock.acquireWrite(s),
    writeMany: (ss) => lock.acquireWriteMany(ss),
    release: (h) => h.release(),
  };
}

function peerMutex(shards: number): Subject<() => void> {
  const mutexes = Array.from({ length: shards }, () => new Mutex());
  const lockMany = async (ss: number[]): Promise<() => void> => {
    const sorted = [...new Set(ss)].sort((a, b) => a - b);
    const releases: (() => void)[] = [];
    for (const s of sorted) releases.push(await mutexes[s]!.acquire());
    return () => releases.forEach((r) => r());
  };
  return {
    name: 'async-mutex Mutex',
    read: (s) => mutexes[s]!.acquire(),
    write: (s) => mutexes[s]!.acquire(),
    writeMany: lockMany,
    release: (r) => r(),
  };
}

function peerSemaphore(shards: number, maxReaders: number): Subject<() => void> {
  const sems = Array.from({ length: shards }, () => new Semaphore(maxReaders));
  const second = ([, release]: [number, () => void]) => release;
  return {
    name: 'async-mutex Semaphore (weighted RW)',
    read: (s) => sems[s]!.acquire(1).then(second),
    write: (s) => sems[s]!.acquire(maxReaders).then(second),
    writeMany: () => Promise.reject(new Error('not used')),
    release: (r) => r(),
  };
}

/** The same picks for both subjects: shard per op, read-or-write per op, multi-shard sets. */
interface Workload {
  readonly shard: Int32Array;
  readonly isRead: Uint8Array;
  readonly many: number[][];
}

function workload(sc: Scenario, seed: number): Workload {
  const rnd = prng(seed);
  const shard = new Int32Array(sc.ops);
  const isRead = new Uint8Array(sc.ops);
  const many: number[][] = [];
  for (let i = 0; i < sc.ops; i++) {
    shard[i] = Math.floor(rnd() * sc.shards);
    isRead[i] = sc.kind === 'mixed' && rnd() < READ_SHARE ? 1 : 0;
    if (sc.kind === 'multi') {
      many.push(Array.from({ length: 1 + Math.floor(rnd() * MAX_MULTI) }, () => Math.floor(rnd() * sc.shards)));
    }
  }
  return { shard, isRead, many };
}

async function runOnce<R>(sc: Scenario, w: Workload, subject: Subject<R>): Promise<RunResult> {
  const samples = new Float64Array(Math.ceil(sc.ops / SAMPLE_EVERY));
  let sampled = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < sc.ops; i = next++) {
      const sample = i % SAMPLE_EVERY === 0;
      const t0 = sample ? performance.now() : 0;
      const r = await (sc.kind === 'multi'
        ? subject.writeMany(w.many[i]!)
        : w.isRead[i] === 1
          ? subject.read(w.shard[i]!)
          : subject.write(w.shard[i]!));
      if (sample) samples[sampled++] = performance.now() - t0;
      if (sc.awaitInside) await null;
      subject.release(r);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: sc.workers }, worker));
  const elapsed = performance.now() - start;
  const lat = samples.subarray(0, sampled).sort();
  const pctUs = (p: number) => round3(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! * 1000);
  return { opsPerSec: Math.round((sc.ops / elapsed) * 1000), p50Us: pctUs(0.5), p99Us: pctUs(0.99) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function medianRun(runs: RunResult[]): RunResult {
  return {
    opsPerSec: median(runs.map((r) => r.opsPerSec)),
    p50Us: round3(median(runs.map((r) => r.p50Us))),
    p99Us: round3(median(runs.map((r) => r.p99Us))),
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function geomean(xs: number[]): number {
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

/** Our synchronous path (tryAcquireWrite/release), which hot callers can use to skip the promise entirely. */
function syncFastPath(ops: number): number {
  const lock = new ShardLock();
  const start = performance.now();
  for (let i = 0; i < ops; i++) lock.tryAcquireWrite(i & 8191)!.release();
  return Math.round((ops / (performance.now() - start)) * 1000);
}

function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!(v > 0)) throw new Error(`${name} needs a positive number, got ${String(args[i + 1])}`);
  return v;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const rounds = Math.round(flag(args, '--rounds', 5));
  const scale = flag(args, '--scale', 1);
  const n = (ops: number) => Math.max(1000, Math.round(ops * scale));
  const scenarios: Scenario[] = [
    { name: 'uncontended', shards: 8192, workers: 1, ops: n(200_000), awaitInside: false, kind: 'exclusive' },
    { name: 'low', shards: 8192, workers: 64, ops: n(150_000), awaitInside: true, kind: 'exclusive' },
    { name: 'high', shards: 4, workers: 64, ops: n(150_000), awaitInside: true, kind: 'exclusive' },
    { name: 'mixedRw', shards: 16, workers: 64, ops: n(150_000), awaitInside: true, kind: 'mixed' },
    { name: 'multiWrite', shards: 64, workers: 32, ops: n(60_000), awaitInside: true, kind: 'multi' },
  ];
  const detail: Record<string, unknown> = {};
  const headline: { ours: number; peer: number }[] = [];
  for (const [idx, sc] of scenarios.entries()) {
    const w = workload(sc, 1000 + idx);
    const peer = () => (sc.kind === 'mixed' ? peerSemaphore(sc.shards, sc.workers) : peerMutex(sc.shards));
    const oursRuns: RunResult[] = [];
    const peerRuns: RunResult[] = [];
    // One warm-up round each, then alternate so drift in machine load hits both sides alike.
    await runOnce(sc, w, ours());
    await runOnce(sc, w, peer());
    for (let r = 0; r < rounds; r++) {
      oursRuns.push(await runOnce(sc, w, ours()));
      peerRuns.push(await runOnce(sc, w, peer()));
      process.stderr.write(
        `shard-lock ${sc.name} round ${r + 1}/${rounds}: ours ${oursRuns.at(-1)!.opsPerSec} ops/s, ` +
          `peer ${peerRuns.at(-1)!.opsPerSec} ops/s\n`,
      );
    }
    const o = medianRun(oursRuns);
    const p = medianRun(peerRuns);
    detail[sc.name] = {
      shards: sc.shards,
      workers: sc.workers,
      peer: peer().name,
      ours: o,
      peerResult: p,
      ratio: round3(o.opsPerSec / p.opsPerSec),
    };
    if (sc.kind === 'exclusive') headline.push({ ours: o.opsPerSec, peer: p.opsPerSec });
  }
  const syncRuns = Array.from({ length: rounds }, () => syncFastPath(n(2_000_000)));
  const oursOpsPerSec = Math.round(geomean(headline.map((h) => h.ours)));
  const peerOpsPerSec = Math.round(geomean(headline.map((h) => h.peer)));
  return {
    oursOpsPerSec,
    peerOpsPerSec,
    peer: 'async-mutex',
    ratio: round3(oursOpsPerSec / peerOpsPerSec),
    headline: 'geometric mean of exclusive-lock ops/s over uncontended, low and high contention',
    rounds,
    oursSyncFastPathOpsPerSec: median(syncRuns),
    ...detail,
  };
}
