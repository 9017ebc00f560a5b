import { formatDuration } from '../duration.js';
import { InvalidArgumentError, PreconditionError } from '../errors.js';
import { Keyspace } from '../keyspace/keys.js';
import { migrationRecordOp, type MigrationRecordOp } from '../keyspace/migrationRecord.js';
import { encodeRecord } from '../keyspace/records.js';
import { formatShardValue, isPinned, type ShardValue, withPinned } from '../keyspace/shardValue.js';
import { type Ineligibility, plannerContext } from '../planner/context.js';
import { Placement } from '../planner/placement.js';
import { isUpstreamNode } from '../planner/upstream.js';
import { shardInLayout } from '../snapshot/layout.js';
import { planReshardAbort, planReshardStart } from './reshard.js';
import type { AssignmentMode } from '../planner/settings.js';
import { type ClusterSnapshot, keyRevision } from '../snapshot/snapshot.js';
import { counted } from '../text/plural.js';

/**
 * The operator actions, pure half. Every front end (the CLI's commands, the console's keys and palette, the node's
 * admin API) decodes its input into an OperationRequest and plans it with `planOperation` against a snapshot: what
 * to write, compared against which ModRevision, and what is skipped and why. The executor (src/edge/operations)
 * writes a plan; each front end previews, confirms and reports it in its own way.
 */
export type OperationRequest =
  | { readonly kind: 'pin'; readonly shards: readonly number[] }
  | { readonly kind: 'unpin'; readonly shards: readonly number[] }
  /**
   * New targets: `to`, or when null the best eligible node per shard (weighted rendezvous, never the current
   * target). `refusals` applies to a named target that is not alive or not eligible. `pin` pins each shard in the
   * same write, so the balancer cannot move it back.
   */
  | {
      readonly kind: 'retarget';
      readonly shards: readonly number[];
      readonly to: string | null;
      readonly refusals: Refusals;
      readonly pin?: boolean;
    }
  /** `refusals` applies to a live owner of a shard that is not migrating away. */
  | { readonly kind: 'release'; readonly shards: readonly number[]; readonly refusals: Refusals }
  | { readonly kind: 'drain'; readonly node: string }
  | { readonly kind: 'undrain'; readonly node: string }
  /** Pauses rebalancing for `forMs` (1 s up to the context's longest pause); `reason` is shown to other operators. */
  | { readonly kind: 'pause'; readonly forMs: number; readonly reason: string }
  | { readonly kind: 'resume' }
  /** Starts the next shard-count transition towards `to` (docs/RESHARDING.md §5.1), or aborts the one under way. */
  | { readonly kind: 'reshard'; readonly to: number }
  | { readonly kind: 'reshard-abort' };

export type OperationName = OperationRequest['kind'];

/**
 * What a plan does where only force would change a shard (a ForceRefusal): `refuse` (the console, and the CLI and
 * the admin API by default), or `override` (their `--force` / `force: true`).
 */
export type Refusals = 'refuse' | 'override';

export interface PlannedShardChange {
  readonly shardId: number;
  readonly key: string;
  /** The stored value (null when the key is absent). */
  readonly old: string | null;
  readonly new: string;
  readonly expectedModRevision: number;
  readonly before: ShardValue;
  readonly after: ShardValue;
  /** The migration record to keep in step in the same transaction (`migrationRecordOp`). */
  readonly migration: MigrationRecordOp;
}

export interface PlannedRecordChange {
  /** What the record is about: a node address, a shard ID, or the record's name. */
  readonly id: string;
  readonly key: string;
  readonly old: string | null;
  /** null deletes the key. */
  readonly new: string | null;
  readonly expectedModRevision: number;
  /** Put the key under a lease of this TTL, so it disappears by itself. */
  readonly leaseTtlSeconds?: number;
}

/**
 * What a plan refuses unless forced, as data, so each front-end can phrase it: the CLI and the admin API have a force
 * option (their words are the reason and the error message), the console has none.
 */
export type ForceRefusal =
  /** A retarget to a node that is not alive. */
  | { readonly code: 'target-not-alive'; readonly node: string }
  /** A retarget to an alive node that takes no new targets. */
  | { readonly code: 'target-ineligible'; readonly node: string; readonly why: Ineligibility }
  /** A release of a shard whose owner is alive and which is not migrating away: `target` is the owner or empty. */
  | { readonly code: 'owner-alive'; readonly node: string; readonly target: string };

/** A whole operation refused unless forced (a retarget to a node that is not alive or not eligible). */
export class ForceRequiredError extends PreconditionError {
  constructor(readonly refusal: ForceRefusal) {
    super(forceReason(refusal));
  }
}

/** A refusal in the words of the callers that have a force option. */
function forceReason(r: ForceRefusal): string {
  switch (r.code) {
    case 'target-not-alive':
      return `node ${r.node} is not alive; use --force to target it anyway`;
    case 'target-ineligible':
      return `node ${r.node} is ${r.why}; use --force to target it anyway`;
    case 'owner-alive':
      return `owned by alive node ${r.node} and not migrating; use --force to clear it anyway`;
  }
}

/** Our keyspace extensions that an upstream leader ignores. */
export type UpstreamIgnored = 'drain' | 'pause';

/**
 * A drain or a pause while the leader is an upstream Goverse node: it knows neither record, so it would rebalance
 * shards back onto a drained node and go on rebalancing through a pause. Pins it honours (its reassign and
 * rebalance skip pinned shards), and moves by hand (a new TargetNode) it completes: those work instead.
 */
export class UpstreamLeaderError extends PreconditionError {
  constructor(
    readonly operation: UpstreamIgnored,
    readonly leader: string,
  ) {
    const ignores = operation === 'drain' ? 'ignores drain marks and would move shards back onto the node' : 'ignores rebalance pauses and goes on rebalancing';
    super(
      `refused: the leader ${leader} is an upstream Goverse node, which ${ignores}; instead pin the shards where they ` +
        'should stay (goverse-top pin <shards>) and move them by hand (goverse-top reassign <shards> --to <node>): upstream keeps pinned shards where they are put',
    );
  }
}

export interface OperationPlan {
  readonly operation: OperationName;
  readonly shardChanges: readonly PlannedShardChange[];
  readonly recordChanges: readonly PlannedRecordChange[];
  /** Shards left alone and why; `refusal` when only force would have changed them. */
  readonly skipped: readonly { readonly shardId: number; readonly reason: string; readonly refusal?: ForceRefusal }[];
  readonly summary: string;
  /** The node the operation is about (drain, undrain, a retarget to a named node), for the history. */
  readonly node?: string;
  /** The operator's own words (a pause's reason), for the history. */
  readonly note?: string;
}

export interface OperationContext {
  readonly snapshot: ClusterSnapshot;
  /** Epoch ms. */
  readonly now: number;
  /** Who acts, recorded in records (`user@host`). */
  readonly by: string;
  readonly assignment?: AssignmentMode;
  /** The longest pause of rebalancing accepted (GOVERSE_MAX_PAUSE); default DEFAULT_MAX_PAUSE_MS. */
  readonly maxPauseMs?: number;
}

/** The context with its snapshot's key layout, built once per plan. */
interface Planning extends OperationContext {
  readonly keys: Keyspace;
}

/** Plans a request against the context's snapshot; throws InvalidArgumentError (bad input) or PreconditionError. */
export function planOperation(request: OperationRequest, context: OperationContext): OperationPlan {
  const ctx: Planning = { ...context, keys: new Keyspace(context.snapshot.prefix) };
  switch (request.kind) {
    case 'pin':
    case 'unpin':
      return planPinning(ctx, request.kind, request.shards);
    case 'retarget':
      return planRetarget(ctx, request);
    case 'release':
      return planRelease(ctx, request.shards, request.refusals);
    case 'drain':
      return planDrain(ctx, request.node);
    case 'undrain':
      return planUndrain(ctx, request.node);
    case 'pause':
      return planPause(ctx, request.forMs, request.reason);
    case 'resume':
      return planResume(ctx);
    case 'reshard':
      return planReshardStart(ctx.snapshot, request.to, ctx.now, ctx.by);
    case 'reshard-abort':
      return planReshardAbort(ctx.snapshot);
  }
}

/** After the input is checked (bad input stays exit 2). Undrain and resume stay allowed: removing a record harms nothing. */
function refuseUnderUpstreamLeader(snapshot: ClusterSnapshot, operation: UpstreamIgnored): void {
  const leader = snapshot.leader?.address;
  if (leader !== undefined && isUpstreamNode(snapshot, leader)) throw new UpstreamLeaderError(operation, leader);
}

function planPinning(ctx: Planning, op: 'pin' | 'unpin', shardIds: readonly number[]): OperationPlan {
  const { snapshot } = ctx;
  const pinned = op === 'pin';
  const changes: PlannedShardChange[] = [];
  const skipped: OperationPlan['skipped'][number][] = [];
  for (const id of shardIds) {
    const entry = snapshot.shards[id];
    if (entry === undefined) {
      skipped.push({ shardId: id, reason: 'shard has no key yet (not assigned); nothing to pin' });
    } else if (isPinned(entry) === pinned) {
      skipped.push({ shardId: id, reason: pinned ? 'already pinned' : 'not pinned' });
    } else {
      changes.push(shardChange(ctx, id, withPinned(entry, pinned)));
    }
  }
  return { operation: op, shardChanges: changes, recordChanges: [], skipped, summary: `${op} ${counted(changes.length, 'shard')}` };
}

/**
 * New targets (see the request). A named target that is not alive or not eligible is refused unless the refusals are
 * overridden. Pins stay as they are (a pinned shard moved by hand stays pinned where it goes), or are added with
 * `pin`: a shard already on that target but not pinned is then pinned there.
 */
function planRetarget(ctx: Planning, request: Extract<OperationRequest, { kind: 'retarget' }>): OperationPlan {
  const { snapshot } = ctx;
  const { to, pin = false } = request;
  if (to !== null) checkTarget(snapshot, to, request.refusals);
  const placement = to === null ? new Placement(plannerContext(snapshot), snapshot, ctx.assignment ?? 'rendezvous') : null;
  const changes: PlannedShardChange[] = [];
  const skipped: OperationPlan['skipped'][number][] = [];
  for (const id of request.shards) {
    const before = valueAt(snapshot, id);
    // A high shard whose pair is not split yet has no key by design: writing one would split the pair unowned.
    if (!shardInLayout(snapshot, id)) {
      skipped.push({ shardId: id, reason: 'not split yet (a shard-count transition runs)' });
      continue;
    }
    const target = to ?? placement!.choose(id, before.target || undefined);
    if (target === null) skipped.push({ shardId: id, reason: 'no other eligible node' });
    else if (target === before.target && (!pin || isPinned(before))) skipped.push({ shardId: id, reason: `already targeted at ${target}` });
    else changes.push(shardChange(ctx, id, pin ? withPinned({ ...before, target }, true) : { ...before, target }));
  }
  return {
    operation: 'retarget',
    shardChanges: changes,
    recordChanges: [],
    skipped,
    summary: `retarget ${counted(changes.length, 'shard')} to ${to ?? 'the best eligible nodes'}${pin ? ` and pin ${changes.length === 1 ? 'it' : 'them'}` : ''}`,
    ...(to === null ? {} : { node: to }),
  };
}

/**
 * Release: a dead owner is cleared (CurrentNode ← "") so the target can claim; a live owner of a shard migrating
 * away is asked to release (a release request record); a live owner of a stable shard keeps it unless the refusals
 * are overridden, which clears it anyway (that node drops the shard when it sees the change).
 */
function planRelease(ctx: Planning, shardIds: readonly number[], refusals: Refusals): OperationPlan {
  const { snapshot, keys } = ctx;
  const changes: PlannedShardChange[] = [];
  const records: PlannedRecordChange[] = [];
  const skipped: OperationPlan['skipped'][number][] = [];
  for (const id of shardIds) {
    const before = valueAt(snapshot, id);
    const owner = before.current;
    if (owner === '') {
      skipped.push({ shardId: id, reason: 'no owner to release' });
    } else if (!snapshot.nodes.has(owner) || refusals === 'override') {
      changes.push(shardChange(ctx, id, { ...before, current: '' }));
    } else if (before.target !== owner && before.target !== '') {
      const existing = snapshot.releaseRequests.get(id);
      const key = keys.releaseRequest(id);
      records.push({
        id: String(id),
        key,
        old: existing === undefined ? null : encodeRecord(stripRevision(existing)),
        new: encodeRecord({ at: ctx.now, by: ctx.by, owner }),
        expectedModRevision: keyRevision(snapshot, existing, key),
      });
    } else {
      const refusal: ForceRefusal = { code: 'owner-alive', node: owner, target: before.target };
      skipped.push({ shardId: id, reason: forceReason(refusal), refusal });
    }
  }
  return {
    operation: 'release',
    shardChanges: changes,
    recordChanges: records,
    skipped,
    summary: `release ${counted(changes.length, 'shard')}, request release of ${records.length}`,
  };
}

/** Drain: mark the node (no new targets until undrained) and retarget every unpinned shard targeted at it. */
function planDrain(ctx: Planning, node: string): OperationPlan {
  const { snapshot, keys } = ctx;
  if (!knownNodes(snapshot).has(node)) throw unknownNode(snapshot, node);
  refuseUnderUpstreamLeader(snapshot, 'drain');
  const existing = snapshot.drains.get(node);
  const record = { at: ctx.now, by: ctx.by };
  // Plan against the snapshot as it will be, with the node drained, so placement never picks it.
  const drained: ClusterSnapshot = { ...snapshot, drains: new Map([...snapshot.drains, [node, { ...record, modRevision: 0 }]]) };
  const placement = new Placement(plannerContext(drained), drained, ctx.assignment ?? 'rendezvous');
  const changes: PlannedShardChange[] = [];
  const skipped: OperationPlan['skipped'][number][] = [];
  for (const entry of snapshot.shards) {
    if (entry === undefined || entry.target !== node) continue;
    if (isPinned(entry)) {
      skipped.push({ shardId: entry.id, reason: `pinned to ${node}; unpin or retarget it by hand` });
      continue;
    }
    const to = placement.choose(entry.id, node);
    if (to === null) skipped.push({ shardId: entry.id, reason: 'no other eligible node' });
    else changes.push(shardChange(ctx, entry.id, { ...valueAt(snapshot, entry.id), target: to }));
  }
  const recordChanges: PlannedRecordChange[] =
    existing === undefined
      ? [{ id: node, key: keys.drain(node), old: null, new: encodeRecord(record), expectedModRevision: 0 }]
      : [];
  return { operation: 'drain', shardChanges: changes, recordChanges, skipped, summary: `drain ${node}: retarget ${counted(changes.length, 'shard')}`, node };
}

function planUndrain(ctx: Planning, node: string): OperationPlan {
  const { snapshot } = ctx;
  const existing = snapshot.drains.get(node);
  if (existing === undefined) {
    if (!knownNodes(snapshot).has(node)) throw unknownNode(snapshot, node);
    return { operation: 'undrain', shardChanges: [], recordChanges: [], skipped: [], summary: `${node} is not drained`, node };
  }
  const key = ctx.keys.drain(node);
  return {
    operation: 'undrain',
    shardChanges: [],
    recordChanges: [{ id: node, key, old: encodeRecord(stripRevision(existing)), new: null, expectedModRevision: existing.modRevision }],
    skipped: [],
    summary: `undrain ${node}`,
    node,
  };
}

/** The default longest pause of rebalancing (GOVERSE_MAX_PAUSE): a pause is an incident measure, not a state. */
export const DEFAULT_MAX_PAUSE_MS = 24 * 3_600_000;

/**
 * A pause lasts from 1s to `maxMs`. Without a bound a typo paused rebalancing for centuries, or failed only at etcd
 * (leases are capped near 285 years) as a runtime error instead of bad input.
 */
export function checkPauseLength(forMs: number, maxMs: number): void {
  if (!(forMs >= 1000)) throw new InvalidArgumentError('a pause must last at least 1s');
  if (forMs > maxMs) {
    throw new InvalidArgumentError(`a pause of ${formatDuration(forMs)} is longer than the longest allowed, ${formatDuration(maxMs)} (GOVERSE_MAX_PAUSE)`);
  }
}

/** Pauses rebalancing for `forMs`; the record lives under a lease of that length, so it expires by itself. */
function planPause(ctx: Planning, forMs: number, reason: string): OperationPlan {
  checkPauseLength(forMs, ctx.maxPauseMs ?? DEFAULT_MAX_PAUSE_MS);
  const { snapshot } = ctx;
  refuseUnderUpstreamLeader(snapshot, 'pause');
  const existing = snapshot.pause;
  const until = ctx.now + forMs;
  return {
    operation: 'pause',
    shardChanges: [],
    recordChanges: [
      {
        id: 'rebalance-pause',
        key: ctx.keys.rebalancePause,
        old: existing === null ? null : encodeRecord(stripRevision(existing)),
        new: encodeRecord({ until, by: ctx.by, at: ctx.now, reason }),
        expectedModRevision: existing?.modRevision ?? 0,
        leaseTtlSeconds: Math.ceil(forMs / 1000),
      },
    ],
    skipped: [],
    summary: `pause rebalancing until ${new Date(until).toISOString()}`,
    ...(reason === '' ? {} : { note: reason }),
  };
}

function planResume(ctx: Planning): OperationPlan {
  const existing = ctx.snapshot.pause;
  const recordChanges: PlannedRecordChange[] =
    existing === null
      ? []
      : [
          {
            id: 'rebalance-pause',
            key: ctx.keys.rebalancePause,
            old: encodeRecord(stripRevision(existing)),
            new: null,
            expectedModRevision: existing.modRevision,
          },
        ];
  return { operation: 'resume', shardChanges: [], recordChanges, skipped: [], summary: existing === null ? 'rebalancing is not paused' : 'resume rebalancing' };
}

/** Every node address the snapshot knows of: alive, published, drained, or named by a shard. */
export function knownNodes(snapshot: ClusterSnapshot): Set<string> {
  const known = new Set<string>([...snapshot.nodes.keys(), ...snapshot.nodeInfo.keys(), ...snapshot.drains.keys()]);
  for (const e of snapshot.shards) {
    if (e === undefined) continue;
    if (e.target !== '') known.add(e.target);
    if (e.current !== '') known.add(e.current);
  }
  return known;
}

/** Unknown node: a usage error. Known but not alive or not eligible: a failed precondition (unless overridden). */
function checkTarget(snapshot: ClusterSnapshot, to: string, refusals: Refusals): void {
  formatShardValue({ target: to, current: '', flags: [] }); // throws InvalidArgumentError for unstorable addresses
  if (!snapshot.nodes.has(to)) {
    if (!knownNodes(snapshot).has(to)) throw unknownNode(snapshot, to);
    if (refusals === 'refuse') throw new ForceRequiredError({ code: 'target-not-alive', node: to });
    return;
  }
  const why = plannerContext(snapshot).ineligible.get(to);
  if (why !== undefined && refusals === 'refuse') throw new ForceRequiredError({ code: 'target-ineligible', node: to, why });
}

function unknownNode(snapshot: ClusterSnapshot, node: string): InvalidArgumentError {
  const alive = [...snapshot.nodes.keys()].sort();
  return new InvalidArgumentError(`unknown node ${JSON.stringify(node)}; alive nodes: ${alive.join(', ') || '(none)'}`);
}

function valueAt(snapshot: ClusterSnapshot, id: number): ShardValue {
  const e = snapshot.shards[id];
  return e === undefined ? { target: '', current: '', flags: [] } : { target: e.target, current: e.current, flags: e.flags };
}

function shardChange(ctx: Planning, id: number, after: ShardValue): PlannedShardChange {
  const { snapshot } = ctx;
  const entry = snapshot.shards[id];
  const before = valueAt(snapshot, id);
  return {
    shardId: id,
    key: ctx.keys.shard(id),
    old: entry?.raw ?? null,
    new: formatShardValue(after),
    expectedModRevision: entry?.modRevision ?? 0,
    before,
    after,
    migration: migrationRecordOp(before, after, snapshot.migrations.get(id), ctx.now),
  };
}

function stripRevision<T extends { modRevision: number }>(record: T): Omit<T, 'modRevision'> {
  const { modRevision: _ignored, ...rest } = record;
  return rest;
}
