/**
 * The fault scheduler's repertoire. Each fault is an episode: inject, time the recovery (Health), put back what the
 * episode took away (restart killed nodes), and wait until the cluster is healthy before the next one. Operator
 * state deliberately outlives its episode (pins, a drained node, a rebalance pause), so later faults hit a cluster
 * that carries it. Every choice comes from the seeded PRNG; the cluster stays within its tolerance: a fault never
 * leaves fewer than one running node that may receive shards, and only the whole-etcd restart takes the quorum away.
 */
import { isPinned } from '../../src/core/keyspace/shardValue.js';
import { planCount } from '../../src/core/planner/count.js';
import { type OperationContext, type OperationPlan, type OperationRequest, planOperation } from '../../src/core/operations/operations.js';
import type { OperationResult } from '../../src/core/operations/result.js';
import { reshardRefusals, STRAY_REFUSAL, strayHighKeys } from '../../src/core/operations/reshard.js';
import type { ClusterSnapshot } from '../../src/core/snapshot/snapshot.js';
import type { ClusterWatcher } from '../../src/edge/etcd/watcher.js';
import type { ClusterOperations } from '../../src/edge/operations/clusterOperations.js';
import type { ChaosCluster, ChaosNode } from './cluster.js';
import { sleep } from './clients.js';
import type { ExtraCondition } from './health.js';
import { type HostileInput, hostileWrites } from './hostile.js';

export const FAULT_KINDS = [
  'migrate-many',
  'kill',
  'kill-mid-migration',
  'kill-cascade',
  'freeze',
  'restart',
  'scale-up',
  'scale-down',
  'etcd-member-loss',
  'etcd-restart',
  'db-restart',
  'pin',
  'unpin',
  'retarget',
  'drain',
  'undrain',
  'pause',
  'hostile-writes',
  'split',
  'merge',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Recovery bounds, documented in test/chaos/README.md. The node settings are the harness's FAST_ENV: lease TTL 3 s,
 * stability 300 ms, shard check 500 ms. A crashed owner's shards move once its lease expires (at most the TTL after
 * its last keepalive) plus stability plus a claim; the rest is headroom for a loaded 2-core machine.
 */
export const RECOVERY_BOUND_MS: Readonly<Record<FaultKind, number>> = {
  'migrate-many': 10_000,
  kill: 12_000,
  'kill-mid-migration': 12_000,
  'kill-cascade': 15_000,
  freeze: 15_000,
  restart: 15_000,
  'scale-up': 15_000,
  'scale-down': 15_000,
  'etcd-member-loss': 10_000,
  'etcd-restart': 15_000,
  'db-restart': 15_000,
  pin: 5_000,
  unpin: 5_000,
  retarget: 10_000,
  drain: 10_000,
  undrain: 10_000,
  pause: 5_000,
  'hostile-writes': 10_000,
  // A kill mid-way: the victim is back after its lease TTL + 0.5 s; its pairs are done by then or after its return.
  split: 15_000,
  merge: 15_000,
};

/** The nodes' count rebalancing settings (run.ts passes them on), so the runner can tell when it has finished. */
export const CHAOS_REBALANCE = { batchSize: 8, imbalanceThreshold: 0.2 } as const;

/**
 * Scale up and undrain are absorbed once the count rebalancer, which the leader runs with these settings, has nothing
 * left to move (or rebalancing is paused): health alone holds before the leader even starts moving shards.
 */
const rebalanced: ExtraCondition = (snap) => {
  if (snap.pause !== null && snap.pause.until > Date.now()) return null;
  return balanced(snap);
};

/**
 * Nothing left to move even once a pause ends. Hostile writes start only then: the writes they are judged by must
 * not include the rebalancing an earlier scale-up, undrain or restart left for later (a pause ending mid-episode).
 */
const balanced: ExtraCondition = (snap) =>
  planCount(snap, CHAOS_REBALANCE).kind === 'write' ? 'the count rebalancer still has shards to move' : null;

export interface FaultContext {
  readonly cluster: ChaosCluster;
  readonly watcher: ClusterWatcher;
  readonly ops: ClusterOperations;
  readonly random: () => number;
  readonly leaseTtlMs: number;
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly maxPins: number;
  /** Where hostile writes go and how the cluster's own writes are counted meanwhile. */
  readonly hostile: HostileInput;
  /** Executes a plan, recording the shard values it wrote (or may have written) as operator writes. */
  operate(action: string, plan: OperationPlan): Promise<OperationResult>;
  /**
   * Times the recovery from `measuredFrom` (default `startedAt`) until healthy and `also` holds; throws if the
   * cluster never recovers.
   */
  recover(kind: FaultKind, detail: string, startedAt: number, measuredFrom?: number, also?: ExtraCondition): Promise<void>;
  /** Waits until healthy again (and `also` holds) after an episode put things back; throws if it never is. */
  settle(kind: FaultKind, detail: string, also?: ExtraCondition): Promise<void>;
}

interface FaultDefinition {
  readonly kind: FaultKind;
  readonly weight: number;
  applicable(ctx: FaultContext): boolean;
  run(ctx: FaultContext): Promise<void>;
}

export const FAULTS: readonly FaultDefinition[] = [
  { kind: 'migrate-many', weight: 3, applicable: (c) => eligible(c).length >= 2, run: migrateMany },
  { kind: 'kill', weight: 3, applicable: (c) => killable(c).length > 0, run: killOne },
  { kind: 'kill-mid-migration', weight: 2, applicable: (c) => eligible(c).length >= 2, run: killMidMigration },
  { kind: 'kill-cascade', weight: 1, applicable: (c) => eligible(c).length >= 3, run: killCascade },
  { kind: 'freeze', weight: 2, applicable: (c) => killable(c).length > 0, run: freeze },
  { kind: 'restart', weight: 2, applicable: (c) => killable(c).length > 0, run: gracefulRestart },
  { kind: 'scale-up', weight: 1, applicable: (c) => present(c).length < c.maxNodes, run: scaleUp },
  { kind: 'scale-down', weight: 1, applicable: (c) => present(c).length > c.minNodes && removable(c).length > 0, run: scaleDown },
  { kind: 'etcd-member-loss', weight: 2, applicable: (c) => c.cluster.etcd.members.length >= 3, run: etcdMemberLoss },
  { kind: 'etcd-restart', weight: 1, applicable: () => true, run: etcdRestart },
  { kind: 'db-restart', weight: 2, applicable: (c) => c.cluster.database !== null, run: databaseRestart },
  { kind: 'pin', weight: 1, applicable: (c) => pinned(c).length < c.maxPins, run: pin },
  { kind: 'unpin', weight: 1, applicable: (c) => pinned(c).length > 0, run: unpin },
  { kind: 'retarget', weight: 1, applicable: (c) => eligible(c).length >= 1, run: retarget },
  { kind: 'drain', weight: 1, applicable: (c) => drained(c).length === 0 && eligible(c).length >= 3, run: drain },
  { kind: 'undrain', weight: 1, applicable: (c) => drained(c).length > 0, run: undrain },
  { kind: 'pause', weight: 1, applicable: () => true, run: pause },
  { kind: 'hostile-writes', weight: 2, applicable: () => true, run: (c) => hostileWrites(c, balanced) },
  { kind: 'split', weight: 1, applicable: (c) => reshardable(c, 'split'), run: (c) => reshard(c, 'split') },
  { kind: 'merge', weight: 1, applicable: (c) => reshardable(c, 'merge'), run: (c) => reshard(c, 'merge') },
];

/** Picks the next fault among the applicable ones allowed, by weight; null when none applies. */
export function chooseFault(ctx: FaultContext, allowed: ReadonlySet<FaultKind>): FaultDefinition | null {
  const candidates = FAULTS.filter((f) => allowed.has(f.kind) && f.applicable(ctx));
  const total = candidates.reduce((sum, f) => sum + f.weight, 0);
  let r = ctx.random() * total;
  for (const f of candidates) {
    r -= f.weight;
    if (r < 0) return f;
  }
  return candidates.at(-1) ?? null;
}

// ---- node faults ---------------------------------------------------------------------------------------------------

async function killOne(ctx: FaultContext): Promise<void> {
  const victim = pick(ctx, killable(ctx));
  // Sometimes the node comes straight back, before its old lease has expired.
  const quick = ctx.random() < 0.25;
  const startedAt = Date.now();
  await victim.kill();
  // The restart boots while recovery is timed: its shards recover by whichever comes first, the new incarnation's
  // re-claim or the others' claim after the old lease expires.
  const restarted = quick ? victim.start() : null;
  restarted?.catch(() => undefined); // awaited below; a failed start must not be an unhandled rejection meanwhile
  await ctx.recover('kill', `kill -9 ${victim.name}${quick ? ', restarted at once' : ''}`, startedAt);
  if (restarted !== null) {
    await restarted;
    await ctx.settle('kill', `${victim.name} restarted`);
  } else {
    await restartAndSettle(ctx, 'kill', [victim]);
  }
}

async function killMidMigration(ctx: FaultContext): Promise<void> {
  const snap = snapshot(ctx);
  const nodes = shuffle(ctx, eligible(ctx));
  // A source with shards to move, when there is one (a node just restarted during a pause has none).
  const from = nodes.find((n) => stableShards(snap, n.address).length > 0) ?? nodes[0]!;
  const to = nodes.find((n) => n !== from)!;
  const owned = stableShards(snap, from.address);
  const shards = choose(ctx, owned, Math.max(1, Math.round(owned.length * (0.4 + 0.4 * ctx.random()))));
  await ctx.operate('retarget', plan(ctx, retargetTo(shards, to.address)));
  await sleep(ctx.random() * 80);
  const victim = ctx.random() < 0.5 ? from : to;
  const startedAt = Date.now();
  await victim.kill();
  await ctx.recover('kill-mid-migration', `${shards.length} shards ${from.name} -> ${to.name}, kill -9 ${victim.name}`, startedAt);
  await restartAndSettle(ctx, 'kill-mid-migration', [victim]);
}

async function killCascade(ctx: FaultContext): Promise<void> {
  const [first, second] = shuffle(ctx, eligible(ctx));
  const gapMs = Math.round(200 + ctx.random() * 2300);
  const startedAt = Date.now();
  await first!.kill();
  await sleep(gapMs);
  await second!.kill();
  await ctx.recover('kill-cascade', `kill -9 ${first!.name}, ${gapMs} ms later kill -9 ${second!.name}`, startedAt);
  await restartAndSettle(ctx, 'kill-cascade', [first!, second!]);
}

async function freeze(ctx: FaultContext): Promise<void> {
  const victim = pick(ctx, killable(ctx));
  const holdMs = Math.round(ctx.leaseTtlMs + 500 + ctx.random() * 2500);
  const startedAt = Date.now();
  victim.freeze();
  const recovery = ctx.recover('freeze', `SIGSTOP ${victim.name} for ${holdMs} ms`, startedAt);
  await sleep(holdMs);
  victim.thaw();
  await recovery;
  await ctx.settle('freeze', `${victim.name} thawed`);
}

async function gracefulRestart(ctx: FaultContext): Promise<void> {
  const victim = pick(ctx, killable(ctx));
  const startedAt = Date.now();
  const stopped = victim.stop('down');
  const recovery = ctx.recover('restart', `SIGTERM ${victim.name}, then start it again`, startedAt);
  await stopped;
  await victim.start();
  await recovery;
  await ctx.settle('restart', `${victim.name} restarted`);
}

/** Timed from the new node's registration (how long a process takes to boot is no property of the cluster). */
async function scaleUp(ctx: FaultContext): Promise<void> {
  const startedAt = Date.now();
  const node = await ctx.cluster.addNode();
  await ctx.recover('scale-up', `added ${node.name} (${node.address})`, startedAt, Date.now(), rebalanced);
}

async function scaleDown(ctx: FaultContext): Promise<void> {
  const victim = pick(ctx, removable(ctx));
  // Its pinned shards would wait for it forever: the operator moves them first (they stay pinned where they go).
  const pins = pinned(ctx).filter((e) => e.target === victim.address).map((e) => e.id);
  if (pins.length > 0) {
    const to = pick(ctx, eligible(ctx).filter((n) => n !== victim));
    await ctx.operate('retarget', plan(ctx, retargetTo(pins, to.address)));
    await ctx.settle('scale-down', `pinned shards ${pins.join(',')} moved to ${to.name}`);
  }
  const startedAt = Date.now();
  const stopped = victim.stop('removed');
  const recovery = ctx.recover('scale-down', `SIGTERM ${victim.name} for good`, startedAt);
  await stopped;
  await recovery;
}

async function restartAndSettle(ctx: FaultContext, kind: FaultKind, nodes: readonly ChaosNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.start()));
  await ctx.settle(kind, `${nodes.map((n) => n.name).join(', ')} restarted`);
}

// ---- etcd faults ---------------------------------------------------------------------------------------------------

async function etcdMemberLoss(ctx: FaultContext): Promise<void> {
  const member = pick(ctx, ctx.cluster.etcd.members.filter((m) => m.running));
  const graceful = ctx.random() < 0.3;
  const downMs = Math.round(1000 + ctx.random() * 4000);
  const startedAt = Date.now();
  await (graceful ? member.stop() : member.kill());
  const recovery = ctx.recover('etcd-member-loss', `${graceful ? 'SIGTERM' : 'kill -9'} etcd ${member.name} for ${downMs} ms`, startedAt);
  await sleep(downMs);
  await member.start();
  await recovery;
  await ctx.settle('etcd-member-loss', `etcd ${member.name} back`);
}

/** Every member down at once (data kept), for up to past the lease TTL: nodes fence, then re-register and re-claim. */
async function etcdRestart(ctx: FaultContext): Promise<void> {
  const { members } = ctx.cluster.etcd;
  const graceful = ctx.random() < 0.3;
  const downMs = Math.round(300 + ctx.random() * (ctx.leaseTtlMs + 2000));
  const startedAt = Date.now();
  await Promise.all(members.map((m) => (graceful ? m.stop() : m.kill())));
  await sleep(downMs);
  await Promise.all(members.map((m) => m.start({ waitHealthy: false })));
  await Promise.all(members.map((m) => m.waitHealthy()));
  const back = Date.now();
  await ctx.recover('etcd-restart', `${graceful ? 'SIGTERM' : 'kill -9'} all ${members.length} etcd members, down ${downMs} ms`, startedAt, back);
}

// ---- database faults -----------------------------------------------------------------------------------------------

/**
 * The PostgreSQL mode's object database stopped, fast (clients disconnected, a checkpoint) or immediate (a crash: the
 * restart replays the WAL), for 0.3 to 3 s, then started again on its data. Meanwhile writes fail retriably and the
 * nodes report not ready; they find the database back by themselves (their store probe).
 */
async function databaseRestart(ctx: FaultContext): Promise<void> {
  const database = ctx.cluster.database!;
  const mode = ctx.random() < 0.6 ? 'immediate' : 'fast';
  const downMs = Math.round(300 + ctx.random() * 2700);
  const startedAt = Date.now();
  await database.stop(mode);
  await sleep(downMs);
  await database.start();
  const back = Date.now();
  await ctx.recover('db-restart', `${mode} stop of PostgreSQL, down ${downMs} ms`, startedAt, back);
}

// ---- operator actions ----------------------------------------------------------------------------------------------

/** Many shards at once between several different node pairs. */
async function migrateMany(ctx: FaultContext): Promise<void> {
  const nodes = eligible(ctx);
  const pairs = shuffle(
    ctx,
    nodes.flatMap((a) => nodes.filter((b) => b !== a).map((b) => [a, b] as const)),
  ).slice(0, 2 + Math.floor(ctx.random() * 3));
  const snap = snapshot(ctx);
  const taken = new Set<number>();
  const moves = pairs
    .map(([from, to]) => {
      const free = stableShards(snap, from.address).filter((id) => !taken.has(id));
      const ids = choose(ctx, free, 3 + Math.floor(ctx.random() * 10));
      for (const id of ids) taken.add(id);
      return { from, to, ids };
    })
    .filter((m) => m.ids.length > 0);
  const startedAt = Date.now();
  await Promise.all(moves.map((m) => ctx.operate('retarget', plan(ctx, retargetTo(m.ids, m.to.address)))));
  const detail = moves.map((m) => `${m.from.name}->${m.to.name} x${m.ids.length}`).join(', ');
  await ctx.recover('migrate-many', `${taken.size} shards: ${detail}`, startedAt);
}

async function pin(ctx: FaultContext): Promise<void> {
  const live = new Set(ctx.cluster.inState('running').map((n) => n.address));
  const candidates = snapshot(ctx).shards.filter((e) => e !== undefined && !isPinned(e) && e.target === e.current && live.has(e.current));
  const ids = choose(ctx, candidates.map((e) => e!.id), 1 + Math.floor(ctx.random() * Math.min(4, ctx.maxPins - pinned(ctx).length)));
  const startedAt = Date.now();
  await ctx.operate('pin', plan(ctx, { kind: 'pin', shards: ids }));
  await ctx.recover('pin', `pin shards ${ids.join(',')}`, startedAt);
}

async function unpin(ctx: FaultContext): Promise<void> {
  const ids = choose(ctx, pinned(ctx).map((e) => e.id), 1 + Math.floor(ctx.random() * pinned(ctx).length));
  const startedAt = Date.now();
  await ctx.operate('unpin', plan(ctx, { kind: 'unpin', shards: ids }));
  await ctx.recover('unpin', `unpin shards ${ids.join(',')}`, startedAt);
}

/** A few shards, pinned ones included, to one node by hand. */
async function retarget(ctx: FaultContext): Promise<void> {
  const to = pick(ctx, eligible(ctx));
  const live = new Set(ctx.cluster.inState('running').map((n) => n.address));
  const candidates = snapshot(ctx).shards.filter((e) => e !== undefined && e.target === e.current && live.has(e.current) && e.target !== to.address);
  const ids = choose(ctx, candidates.map((e) => e!.id), 1 + Math.floor(ctx.random() * 6));
  const startedAt = Date.now();
  await ctx.operate('retarget', plan(ctx, retargetTo(ids, to.address)));
  await ctx.recover('retarget', `shards ${ids.join(',')} to ${to.name}`, startedAt);
}

async function drain(ctx: FaultContext): Promise<void> {
  const node = pick(ctx, eligible(ctx));
  const startedAt = Date.now();
  await ctx.operate('drain', plan(ctx, { kind: 'drain', node: node.address }));
  await ctx.recover('drain', `drain ${node.name}`, startedAt);
}

async function undrain(ctx: FaultContext): Promise<void> {
  const address = pick(ctx, drained(ctx));
  const startedAt = Date.now();
  await ctx.operate('undrain', plan(ctx, { kind: 'undrain', node: address }));
  await ctx.recover('undrain', `undrain ${address}`, startedAt, startedAt, rebalanced);
}

async function pause(ctx: FaultContext): Promise<void> {
  const snap = snapshot(ctx);
  const startedAt = Date.now();
  if (snap.pause !== null && snap.pause.until > startedAt && ctx.random() < 0.5) {
    await ctx.operate('resume', plan(ctx, { kind: 'resume' }));
    await ctx.recover('pause', 'resume rebalancing early', startedAt);
    return;
  }
  const forMs = Math.round(3000 + ctx.random() * 12_000);
  await ctx.operate('pause', plan(ctx, { kind: 'pause', forMs, reason: 'chaos' }));
  await ctx.recover('pause', `pause rebalancing for ${forMs} ms`, startedAt);
}

// ---- shard-count changes ------------------------------------------------------------------------------------------

/** The count stays within a quarter and four times the count the run started with. */
function reshardable(ctx: FaultContext, kind: 'split' | 'merge'): boolean {
  const snap = snapshot(ctx);
  const { count } = snap.layout;
  const initial = ctx.cluster.numShards;
  if (kind === 'split' ? count * 2 > initial * 4 : count / 2 < initial / 4) return false;
  return reshardRefusals(snap, kind).filter((r) => !r.startsWith(STRAY_REFUSAL)).length === 0;
}

/**
 * A split or merge (docs/RESHARDING.md) under the load; 1 in 4 with a node killed mid-way (the leader, half of the
 * time), 1 in 4 aborted mid-way. Recovered once the count it ends with is in force and the cluster is healthy.
 */
async function reshard(ctx: FaultContext, kind: 'split' | 'merge'): Promise<void> {
  const from = snapshot(ctx).layout.count;
  const to = kind === 'split' ? from * 2 : from / 2;
  // Forged keys beyond the count (hostile writes) would become split pairs: the operator deletes them first.
  if (kind === 'split') for (const key of strayHighKeys(snapshot(ctx))) await ctx.cluster.harness.client.delete(key);
  if (kind === 'split') await ctx.settle(kind, 'stray keys beyond the count deleted', (s) => (strayHighKeys(s).length === 0 ? null : 'stray keys left'));
  const twist = ctx.random();
  const startedAt = Date.now();
  await ctx.operate(kind, plan(ctx, { kind: 'reshard', to }));
  let expected = to;
  let detail = `${kind} ${from} -> ${to}`;
  let victim: ChaosNode | null = null;
  if (twist < 0.25) {
    const leader = ctx.cluster.nodes.find((n) => n.address === snapshot(ctx).leader?.address);
    const candidates = killable(ctx);
    victim = leader !== undefined && candidates.includes(leader) && ctx.random() < 0.5 ? leader : pick(ctx, candidates);
    await sleep(ctx.random() * 150);
    await victim.kill();
    detail += `, kill -9 ${victim.name} mid-way`;
    // Back once its lease has run out (its shards moved, or the pinned ones wait for it): a merge co-locates pairs
    // on the node of a pinned shard, so one pinned to the victim needs the victim back.
    await sleep(ctx.leaseTtlMs + 500);
    await victim.start();
  } else if (twist < 0.5) {
    await sleep(ctx.random() * 300);
    try {
      await ctx.operate(`${kind} abort`, plan(ctx, { kind: 'reshard-abort' }));
      expected = from;
      detail += ', aborted mid-way';
    } catch {
      // Already complete: nothing to abort.
      detail += ', complete before the abort';
    }
  }
  const inForce: ExtraCondition = (s) =>
    s.layout.transition === null && s.layout.count === expected ? null : `${expected} shards not in force yet (${s.layout.count}${s.layout.transition === null ? '' : `, ${s.layout.transition.kind} ${s.layout.transition.state}`})`;
  await ctx.recover(kind, detail, startedAt, startedAt, inForce);
}

// ---- helpers -------------------------------------------------------------------------------------------------------

function snapshot(ctx: FaultContext): ClusterSnapshot {
  return ctx.watcher.snapshot;
}

function opContext(ctx: FaultContext): OperationContext {
  return { snapshot: snapshot(ctx), now: Date.now(), by: 'chaos@runner' };
}

/** Plans an operator request against the watcher's snapshot. */
function plan(ctx: FaultContext, request: OperationRequest): OperationPlan {
  return planOperation(request, opContext(ctx));
}

function retargetTo(shards: readonly number[], to: string): OperationRequest {
  return { kind: 'retarget', shards, to, refusals: 'refuse' };
}

/** Running nodes that may receive shards (not drained). */
function eligible(ctx: FaultContext): ChaosNode[] {
  const drains = snapshot(ctx).drains;
  return ctx.cluster.inState('running').filter((n) => !drains.has(n.address));
}

/** Running nodes whose loss leaves at least one eligible node running. */
function killable(ctx: FaultContext): ChaosNode[] {
  const el = eligible(ctx);
  return ctx.cluster.inState('running').filter((n) => el.some((e) => e !== n));
}

/** Nodes that belong to the cluster (not scaled down). */
function present(ctx: FaultContext): ChaosNode[] {
  return ctx.cluster.nodes.filter((n) => n.state !== 'removed');
}

/** Eligible nodes that may leave for good: never the last eligible one. */
function removable(ctx: FaultContext): ChaosNode[] {
  const el = eligible(ctx);
  return el.length >= 2 ? el : [];
}

function pinned(ctx: FaultContext) {
  return snapshot(ctx).shards.filter((e) => e !== undefined && isPinned(e)).map((e) => e!);
}

function drained(ctx: FaultContext): string[] {
  const present = new Set(ctx.cluster.nodes.filter((n) => n.state !== 'removed').map((n) => n.address));
  return [...snapshot(ctx).drains.keys()].filter((a) => present.has(a));
}

/** Unpinned shards settled on `owner`. */
function stableShards(snap: ClusterSnapshot, owner: string): number[] {
  return snap.shards.filter((e) => e !== undefined && e.target === owner && e.current === owner && !isPinned(e)).map((e) => e!.id);
}

function pick<T>(ctx: FaultContext, items: readonly T[]): T {
  if (items.length === 0) throw new Error('chaos: nothing to pick from');
  return items[Math.floor(ctx.random() * items.length)]!;
}

function shuffle<T>(ctx: FaultContext, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(ctx.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** `n` random shard IDs of `items` (fewer if there are fewer), ascending. */
function choose(ctx: FaultContext, items: readonly number[], n: number): number[] {
  return shuffle(ctx, items)
    .slice(0, Math.max(0, n))
    .sort((a, b) => a - b);
}
