/** The history entry of an operator action (CLI, console, admin API), pure: what a plan wrote, by whom. */
import type { OperationPlan } from '../operations/operations.js';
import type { HistoryAction, HistoryDraft, HistorySource } from './entry.js';

/** Who acts, and through which front end. */
export interface HistoryActor {
  readonly actor: string;
  readonly source: HistorySource;
}

/** Which of a plan's changes were written (indexes into its shardChanges and recordChanges). */
export interface WrittenChanges {
  readonly shards: ReadonlySet<number>;
  readonly records: ReadonlySet<number>;
}

/** The operator's words for the operation: the core's `retarget` is the CLI's and the console's `reassign`. */
export function operationAction(plan: OperationPlan): HistoryAction {
  return plan.operation === 'retarget' ? 'reassign' : plan.operation;
}

/**
 * The entry of a plan's written changes at `at`: moves where a target changed (reassign, drain), the other shards
 * as a list (pin, unpin, release and its requests), the node it is about, the plan's summary as the reason.
 * `written` when every planned change was written, else `partial` (the reason says how many); null when nothing was.
 */
export function operationEntry(plan: OperationPlan, written: WrittenChanges, who: HistoryActor, at: number): HistoryDraft | null {
  const planned = plan.shardChanges.length + plan.recordChanges.length;
  const count = written.shards.size + written.records.size;
  if (count === 0) return null;
  const moves: { shard: number; from: string; to: string }[] = [];
  const shards: number[] = [];
  plan.shardChanges.forEach((c, i) => {
    if (!written.shards.has(i)) return;
    if (c.before.target !== c.after.target) moves.push({ shard: c.shardId, from: c.before.target, to: c.after.target });
    else shards.push(c.shardId);
  });
  // Release requests are about shards; the other records (drain, pause) about a node or the balancer.
  plan.recordChanges.forEach((c, i) => {
    if (written.records.has(i) && plan.operation === 'release') shards.push(Number(c.id));
  });
  const note = plan.note === undefined ? '' : `: ${plan.note}`;
  return {
    at,
    actor: who.actor,
    source: who.source,
    action: operationAction(plan),
    ...(shards.length === 0 ? {} : { shards }),
    ...(moves.length === 0 ? {} : { moves }),
    ...(plan.node === undefined ? {} : { node: plan.node }),
    reason: `${plan.summary}${note}${count === planned ? '' : ` (${count} of ${planned} changes written)`}`,
    outcome: count === planned ? 'written' : 'partial',
  };
}
