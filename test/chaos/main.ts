/**
 * `npm run chaos -- --seed N --duration D [options]`: one seeded fault-injection run (test/chaos/README.md).
 * Progress goes to stderr; stdout gets the violations with their histories, a summary, and as its last line
 * `{"seed", "faults", "acknowledged", "violations", "worstRecoveryMs"}`.
 * Exit codes: 0 no violation, 1 violations, 2 bad arguments, 3 the run itself failed.
 */
import { parseArgs } from 'node:util';
import { formatDuration, parseDuration } from '../../src/core/duration.js';
import { coverage, formatViolation, HOSTILE_WRITE_BOUND } from './checker.js';
import { formatHistoryBound } from './historyBound.js';
import { FAULT_KINDS, type FaultKind, RECOVERY_BOUND_MS } from './faults.js';
import { type ChaosOptions, runChaos } from './run.js';

const USAGE = `usage: npm run chaos -- [--seed N] [--duration D] [--store sqlite|postgres] [--etcd-members 1|3] [--nodes 3-5] [--shards N]
       [--faults kind,...] [--clients N] [--counters N] [--node-env KEY=VALUE]... [--keep] [--quiet]
fault kinds: ${FAULT_KINDS.join(', ')}`;

/** The first violations explain the rest; the kept run directory has them all. */
const MAX_PRINTED = 20;

class UsageError extends Error {}

function parseOptions(argv: string[]): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string', default: '1' },
      duration: { type: 'string', default: '60s' },
      store: { type: 'string', default: 'sqlite' },
      'etcd-members': { type: 'string', default: '1' },
      nodes: { type: 'string', default: '4' },
      shards: { type: 'string', default: '128' },
      faults: { type: 'string', default: FAULT_KINDS.join(',') },
      clients: { type: 'string', default: '8' },
      counters: { type: 'string', default: '256' },
      'node-env': { type: 'string', multiple: true, default: [] },
      quiet: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const int = (name: string, text: string, min: number, max: number): number => {
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(n >= min && n <= max)) throw new UsageError(`--${name}: expected an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
    return n;
  };
  let durationMs: number;
  try {
    durationMs = parseDuration(values.duration);
  } catch (err) {
    throw new UsageError(`--duration: ${(err as Error).message}`);
  }
  const faults = values.faults.split(',').map((f) => f.trim());
  const unknown = faults.filter((f) => !(FAULT_KINDS as readonly string[]).includes(f));
  if (unknown.length > 0) throw new UsageError(`--faults: unknown kind(s) ${unknown.join(', ')}`);
  const store = values.store;
  if (store !== 'sqlite' && store !== 'postgres') throw new UsageError(`--store: sqlite or postgres, got ${JSON.stringify(store)}`);
  // On SQLite the database restart never applies; alone it would leave no fault to inject.
  if (store === 'sqlite' && faults.every((f) => f === 'db-restart')) throw new UsageError('--faults db-restart needs --store postgres');
  const etcdMembers = int('etcd-members', values['etcd-members'], 1, 3);
  if (etcdMembers === 2) throw new UsageError('--etcd-members: 1 or 3 (two members lose quorum with either one)');
  const nodeEnv: Record<string, string> = {};
  for (const kv of values['node-env']) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(kv);
    if (m === null) throw new UsageError(`--node-env: expected KEY=VALUE, got ${JSON.stringify(kv)}`);
    nodeEnv[m[1]!] = m[2]!;
  }
  const quiet = values.quiet;
  return {
    seed: int('seed', values.seed, 0, 2 ** 32 - 1),
    store,
    durationMs,
    etcdMembers,
    nodes: int('nodes', values.nodes, 3, 5),
    minNodes: 3,
    maxNodes: 5,
    numShards: int('shards', values.shards, 8, 8192),
    faults: faults as FaultKind[],
    nodeEnv,
    workers: int('clients', values.clients, 1, 64),
    counters: int('counters', values.counters, 1, 10_000),
    keep: values.keep,
    log: (line) => {
      if (!quiet) process.stderr.write(`${line}\n`);
    },
  };
}

async function main(): Promise<number> {
  let options: ChaosOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`chaos: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const r = await runChaos(options);
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  for (const v of r.violations.slice(0, MAX_PRINTED)) out(formatViolation(v));
  if (r.violations.length > MAX_PRINTED) out(`... and ${r.violations.length - MAX_PRINTED} more violations${r.keptIn === null ? '' : ` (all in ${r.keptIn}/violations.txt)`}`);
  out(
    `chaos seed ${options.seed}: ${formatDuration(options.durationMs)}, ${options.nodes} nodes, ${options.etcdMembers} etcd member(s), ` +
      `${options.numShards} shards, objects in ${options.store === 'postgres' ? 'PostgreSQL' : 'SQLite'}`,
  );
  out(`faults: ${Object.entries(r.summary.faults).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
  const latencies = r.history.increments.flatMap((i) => (i.ackedAt === null ? [] : [i.ackedAt - i.sentAt])).sort((x, y) => x - y);
  const quantile = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  out(
    `increments: ${r.clients.acknowledged} acknowledged (latency p50 ${quantile(0.5)} ms, p99 ${quantile(0.99)} ms, max ${quantile(1)} ms), ` +
      `${r.clients.givenUp} given up; failed attempts ${JSON.stringify(r.clients.failedAttempts)}`,
  );
  out(
    `worst recovery: ${Object.entries(r.summary.worstRecoveryMs)
      .map(([k, ms]) => `${k} ${ms} ms (bound ${RECOVERY_BOUND_MS[k as FaultKind]})`)
      .join(', ') || 'none'}`,
  );
  if (r.summary.hostileWritesPerSecond !== null) {
    out(`hostile writes: the cluster wrote at most ${r.summary.hostileWritesPerSecond} keys/s over an episode (bound ${HOSTILE_WRITE_BOUND}/s)`);
  }
  if (r.history.clusterHistory !== undefined) out(`history: ${formatHistoryBound(r.history.clusterHistory)}`);
  out(`checked: ${coverage(r.history)}`);
  for (const w of r.warnings) out(`warning: ${w}`);
  if (r.aborted !== null) out(`fault injection stopped early: ${r.aborted}`);
  if (r.keptIn !== null) out(`the run's logs, event logs, history and violations are in ${r.keptIn}`);
  out(`violations: ${r.summary.violations}${r.summary.violations > 0 ? ` (seed ${options.seed})` : ''}`);
  out(JSON.stringify(r.summary));
  return r.summary.violations > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: the run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(3);
  },
);
