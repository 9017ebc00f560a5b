/**
 * `npm run bench -- placement`: our placement (rendezvous reassign + `weighted` or `load` rebalance) side by side
 * with upstream's (round-robin reassign + `count` rebalance), as a pure simulation over real snapshots (no etcd):
 * writes are applied through applyEvents and each new target claims at once (claim timing ignored).
 *
 *   movement   1 node joins or leaves 4, 8 and 32 nodes at 8192 and 65536 shards; "moved" = reassign moves plus
 *              the rebalance moves until the strategy stops, against the optimum (S/(n+1) on a join, the shards of
 *              the leaver on a leave). `load` runs without load reports here (every shard weighs the same).
 *   zipf       1,000,000 objects with Zipf(1.1) call rates, hashed to shards by FNV-1a: max/mean node load once
 *              `load` (ours) or `count` (upstream) stops. Only clusters where the hottest shard fits under a node's
 *              mean load count towards the headline (4 and 8 nodes); 32 nodes is shown with its lower bound.
 *   weights    nodes weighted 1:2:4 (3 and 6 nodes, both shard counts): max |share / (weight / Σweight) - 1|.
 *   planning   65536 shards x 1000 nodes: initial mapping, a leave (reassign) and the first round after a join
 *              (weighted, load; count for comparison); median of 3 runs.
 * Progress and the side-by-side tables go to stderr; the headline (worst case over each grid) is the result.
 */
import { encodeRecord, type LoadRecord } from '../src/core/keyspace/records.js';
import { formatShardValue } from '../src/core/keyspace/shardValue.js';
import type { PlanResult, RebalanceState, ShardWrite } from '../src/core/planner/plan.js';
import { planReassign } from '../src/core/planner/reassign.js';
import { rebalanceStrategy, type StrategyName } from '../src/core/planner/rebalance.js';
import { defaultPlannerSettings, type PlannerSettings } from '../src/core/planner/settings.js';
import { shardOfObject } from '../src/core/sharding/objectId.js';
import { applyEvents, buildSnapshot, type ClusterSnapshot, type Kv, type KvEvent } from '../src/core/snapshot/snapshot.js';

const PREFIX = '/goverse';
const log = (line: string): void => void process.stderr.write(`${line}\n`);

type Side = 'weighted' | 'load' | 'count';
const OURS: readonly Side[] = ['weighted', 'load'];
const SIDES: readonly Side[] = [...OURS, 'count'];

/** A simulated cluster: the snapshot plus the etcd revision counter its events use. */
class Sim {
  private revision = 0;
  snapshot: ClusterSnapshot;

  constructor(numShards: number, nodes: readonly string[], weights?: readonly number[]) {
    const kvs: Kv[] = [];
    nodes.forEach((n, i) => {
      kvs.push(this.kv(`nodes/${n}`, n, '1'));
      if (weights !== undefined) {
        const info = { nodeId: n, opsUrl: '', apiUrl: '', version: 'bench', weight: weights[i]!, startedAt: 0, state: 'running' };
        kvs.push(this.kv(`nodeinfo/${n}`, encodeRecord(info)));
      }
    });
    this.snapshot = buildSnapshot(PREFIX, numShards, kvs, this.revision);
  }

  /** An independent copy that continues from the same state (and revision). */
  fork(): Sim {
    const copy = Object.create(Sim.prototype) as Sim;
    Object.assign(copy, this);
    return copy;
  }

  join(node: string): void {
    this.apply([{ type: 'put', kv: this.kv(`nodes/${node}`, node, '1') }]);
  }

  leave(node: string): void {
    this.apply([{ type: 'delete', key: `${PREFIX}/nodes/${node}`, modRevision: ++this.revision }]);
  }

  /** Applies shard writes; the new target owns the shard at once. Returns how many changed an existing target. */
  write(writes: readonly ShardWrite[]): number {
    let moved = 0;
    const events: KvEvent[] = writes.map((w) => {
      if (w.before.target !== '' && w.before.target !== w.after.target) moved++;
      return { type: 'put', kv: this.kv(`shard/${w.shardId}`, formatShardValue({ ...w.after, current: w.after.target })) };
    });
    this.apply(events);
    return moved;
  }

  /** Members register under a lease (`lease`), everything else has none. */
  private kv(key: string, value: string, lease = '0'): Kv {
    const rev = ++this.revision;
    return { key: `${PREFIX}/${key}`, value, modRevision: rev, createRevision: rev, lease };
  }

  private apply(events: KvEvent[]): void {
    this.snapshot = applyEvents(this.snapshot, events, this.revision).snapshot;
  }
}

function settingsFor(side: Side, numShards: number): PlannerSettings {
  const base = defaultPlannerSettings(numShards);
  return { ...base, assignment: side === 'count' ? 'round-robin' : 'rendezvous' };
}

/** Leader passes until nothing is left to do: reassign first, then rebalance rounds (state threaded). */
function converge(sim: Sim, side: Side, loadsOf?: (s: ClusterSnapshot) => ReadonlyMap<string, LoadRecord>): { moved: number; rounds: number } {
  const settings = settingsFor(side, sim.snapshot.numShards);
  const strategy = rebalanceStrategy(side satisfies StrategyName);
  let moved = 0;
  let rounds = 0;
  let state: RebalanceState = 'idle';
  for (;;) {
    const assign = planReassign(sim.snapshot, settings);
    if (assign.kind === 'write') {
      moved += sim.write(assign.writes);
      state = 'idle';
      continue;
    }
    const plan: PlanResult = strategy.plan(sim.snapshot, settings, loadsOf?.(sim.snapshot) ?? new Map(), state);
    if (plan.kind === 'skip') return { moved, rounds };
    moved += sim.write(plan.writes);
    state = 'active';
    if (++rounds > 10_000) throw new Error(`${side} did not converge`);
  }
}

const address = (i: number): string => `10.0.${i >> 8}.${i & 255}:7000`;

function targetCounts(snapshot: ClusterSnapshot): Map<string, number> {
  const out = new Map<string, number>([...snapshot.nodes.keys()].map((n) => [n, 0]));
  for (const e of snapshot.shards) if (e !== undefined) out.set(e.target, (out.get(e.target) ?? 0) + 1);
  return out;
}

/** max/min of count over the equal-weight ideal, e.g. "1.00/0.99". */
function countSpread(snapshot: ClusterSnapshot): string {
  const counts = [...targetCounts(snapshot).values()];
  const ideal = snapshot.numShards / counts.length;
  return `${fmt(Math.max(...counts) / ideal)}/${fmt(Math.min(...counts) / ideal)}`;
}

const fmt = (x: number, digits = 3): string => x.toFixed(digits);

function movement(): { join: number; leave: number; countJoin: number } {
  log('movement: moved / optimal after 1 join or 1 leave (final max/min count over ideal)');
  log('  shards nodes | ' + SIDES.map((s) => `${s.padEnd(8)} join          leave        `).join('| ') + '| round-robin remap join');
  const worst = { join: 0, leave: 0, countJoin: 0 };
  for (const numShards of [8192, 65536]) {
    for (const n of [4, 8, 32]) {
      const cells: string[] = [];
      for (const side of SIDES) {
        const nodes = Array.from({ length: n }, (_, i) => address(i));
        const base = new Sim(numShards, nodes);
        converge(base, side);
        const joined = base.fork();
        joined.join(address(n));
        const join = converge(joined, side).moved / (numShards / (n + 1));
        const leaver = nodes[n >> 1]!;
        const optimal = targetCounts(base.snapshot).get(leaver)!;
        base.leave(leaver);
        const leave = converge(base, side).moved / optimal;
        cells.push(`${fmt(join)} ${countSpread(joined.snapshot)}  ${fmt(leave)} ${countSpread(base.snapshot)}`);
        if (side === 'count') worst.countJoin = Math.max(worst.countJoin, join);
        else {
          worst.join = Math.max(worst.join, join);
          worst.leave = Math.max(worst.leave, leave);
        }
      }
      log(`  ${String(numShards).padStart(6)} ${String(n).padStart(5)} | ${cells.join(' | ')} | ${fmt(roundRobinRemap(numShards, n))}`);
    }
  }
  return worst;
}

/** What recomputing `sortedNodes[id % n]` after a join would move, against the optimum (for reference). */
function roundRobinRemap(numShards: number, n: number): number {
  const before = Array.from({ length: n }, (_, i) => address(i)).sort();
  const after = Array.from({ length: n + 1 }, (_, i) => address(i)).sort();
  let moved = 0;
  for (let id = 0; id < numShards; id++) if (before[id % n] !== after[id % (n + 1)]) moved++;
  return moved / (numShards / (n + 1));
}

const ZIPF_OBJECTS = 1_000_000;
const TOTAL_CALLS = 100_000;

/** Per-shard call rate and object count for Zipf(1.1) popularity over `obj-<rank>` objects. */
function zipfShards(numShards: number): { calls: Float64Array; objects: Float64Array } {
  const calls = new Float64Array(numShards);
  const objects = new Float64Array(numShards);
  let norm = 0;
  for (let k = 1; k <= ZIPF_OBJECTS; k++) norm += k ** -1.1;
  for (let k = 1; k <= ZIPF_OBJECTS; k++) {
    const shard = shardOfObject(`obj-${k}`, numShards);
    calls[shard]! += (TOTAL_CALLS * k ** -1.1) / norm;
    objects[shard]!++;
  }
  return { calls, objects };
}

/** Each node reports the shards it owns, as the nodes' load reporters do. */
function reports(snapshot: ClusterSnapshot, zipf: { calls: Float64Array; objects: Float64Array }): Map<string, LoadRecord> {
  const byNode = new Map<string, [number, number, number][]>();
  for (const e of snapshot.shards) {
    if (e === undefined || e.current === '') continue;
    let list = byNode.get(e.current);
    if (list === undefined) byNode.set(e.current, (list = []));
    list.push([e.id, zipf.objects[e.id]!, zipf.calls[e.id]!]);
  }
  return new Map([...byNode].map(([n, shards]) => [n, { at: 0, cpu: null, rssBytes: null, shards, truncated: 0 }]));
}

function zipf(): { load: number; count: number } {
  log(`zipf: ${ZIPF_OBJECTS} objects, Zipf(1.1) call rates; max/mean node call rate after convergence (lower bound = hottest shard / mean)`);
  log('  shards nodes | load: calls max/mean  shards max/mean  moves | count: calls max/mean  moves | lower bound');
  const worst = { load: 0, count: 0 };
  for (const numShards of [8192, 65536]) {
    const shards = zipfShards(numShards);
    for (const n of [4, 8, 32]) {
      const nodes = Array.from({ length: n }, (_, i) => address(i));
      const mean = TOTAL_CALLS / n;
      const bound = Math.max(1, Math.max(...shards.calls) / mean);
      const row: string[] = [];
      for (const side of ['load', 'count'] as const) {
        const sim = new Sim(numShards, nodes);
        const { moved } = converge(sim, side, (s) => reports(s, shards));
        const perNode = new Map<string, number>();
        for (const e of sim.snapshot.shards) perNode.set(e!.target, (perNode.get(e!.target) ?? 0) + shards.calls[e!.id]!);
        const ratio = Math.max(...perNode.values()) / mean;
        const counts = [...targetCounts(sim.snapshot).values()];
        const countRatio = Math.max(...counts) / (numShards / n);
        row.push(side === 'load' ? `${fmt(ratio).padStart(9)}  ${fmt(countRatio).padStart(15)}  ${String(moved).padStart(5)}` : `${fmt(ratio).padStart(9)}  ${String(moved).padStart(5)}`);
        if (bound <= 1) worst[side] = Math.max(worst[side], ratio);
      }
      log(`  ${String(numShards).padStart(6)} ${String(n).padStart(5)} |       ${row[0]} |        ${row[1]} | ${fmt(bound)}${bound > 1 ? ' (infeasible: excluded)' : ''}`);
    }
  }
  return worst;
}

function weights(): number {
  log('weights 1:2:4: max |share / ideal share - 1| after convergence');
  log('  shards nodes | ' + SIDES.join('     | '));
  let worst = 0;
  for (const numShards of [8192, 65536]) {
    for (const n of [3, 6]) {
      const nodes = Array.from({ length: n }, (_, i) => address(i));
      const w = nodes.map((_, i) => [1, 2, 4][i % 3]!);
      const total = w.reduce((a, b) => a + b, 0);
      const cells = SIDES.map((side) => {
        const sim = new Sim(numShards, nodes, w);
        converge(sim, side);
        const counts = targetCounts(sim.snapshot);
        const err = Math.max(...nodes.map((node, i) => Math.abs(counts.get(node)! / ((numShards * w[i]!) / total) - 1)));
        if (side !== 'count') worst = Math.max(worst, err);
        return fmt(err, 4);
      });
      log(`  ${String(numShards).padStart(6)} ${String(n).padStart(5)} | ${cells.join('    | ')}`);
    }
  }
  return worst;
}

function median(f: () => void): number {
  const times: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[1]!;
}

function planning(): number {
  const numShards = 65536;
  const n = 1000;
  log(`planning ${numShards} shards x ${n} nodes, ms (median of 3)`);
  let worst = 0;
  for (const weighted of [false, true]) {
    const nodes = Array.from({ length: n }, (_, i) => address(i));
    const w = weighted ? nodes.map((_, i) => 1 + (i % 4)) : undefined;
    const sim = new Sim(numShards, nodes, w);
    const settings = settingsFor('weighted', numShards);
    const timings: Record<string, number> = {};
    timings.initialMapping = median(() => planReassign(sim.snapshot, settings));
    const initial = planReassign(sim.snapshot, settings);
    if (initial.kind === 'write') sim.write(initial.writes);
    const leave = sim.fork();
    leave.leave(nodes[n >> 1]!);
    timings.leaveReassign = median(() => planReassign(leave.snapshot, settings));
    sim.join(address(n));
    for (const side of SIDES) {
      const strategy = rebalanceStrategy(side);
      timings[`${side}JoinRound`] = median(() => strategy.plan(sim.snapshot, settingsFor(side, numShards), new Map(), 'idle'));
    }
    log(`  ${weighted ? 'weights 1-4' : 'equal weights'}: ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    worst = Math.max(worst, timings.initialMapping, timings.leaveReassign, timings.weightedJoinRound!, timings.loadJoinRound!);
  }
  return worst;
}

export async function run(_args: string[]): Promise<Record<string, unknown>> {
  const move = movement();
  const z = zipf();
  const share = weights();
  const planMs = planning();
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    joinMovedOverOptimal: round(move.join),
    leaveMovedOverOptimal: round(move.leave),
    countJoinMovedOverOptimal: round(move.countJoin),
    zipfMaxOverMeanLoad: round(z.load),
    zipfMaxOverMeanCount: round(z.count),
    weightShareMaxError: round(share),
    plan65536x1000Ms: Math.round(planMs),
  };
}
