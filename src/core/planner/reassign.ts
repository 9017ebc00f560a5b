import { isPinned } from '../keyspace/shardValue.js';
import { shardInLayout } from '../snapshot/layout.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import { type PlannerContext, plannerContext } from './context.js';
import { type PlanResult, type ShardWrite, shardValueAt, shardWrite, skip } from './plan.js';
import { Placement } from './placement.js';
import type { PlannerSettings } from './settings.js';
import { noEligibleNodes } from './tally.js';

/**
 * Targets for shards that have none or whose target is not an eligible node (docs/UPSTREAM.md §6.1, with eligible nodes
 * where upstream has alive ones, so draining and stopping nodes hand their shards over).
 * Builds the initial mapping too.
 * Pinned shards with a target are left alone even when that target is dead: stuck detection reports them.
 * A shard without target whose current owner is eligible adopts it (no data moves).
 * A stopping node that is alive hands the shards it owns over itself, releasing each in the write that retargets it
 * (ShardCustody.handOver): they are left to it, since retargeting them here too races it for the same keys (each lost
 * race a failed transaction, and a second write for the release). Should it die or deregister first, they are a
 * dead node's, reassigned like any other.
 */
export function planReassign(
  snapshot: ClusterSnapshot,
  settings: Pick<PlannerSettings, 'assignment'>,
  ctx: PlannerContext = plannerContext(snapshot),
): PlanResult {
  if (ctx.eligible.length === 0) return noEligibleNodes();
  const eligible = ctx.index;
  const placement = new Placement(ctx, snapshot, settings.assignment);
  const writes: ShardWrite[] = [];
  let adopted = 0;
  let fromDead = 0;
  let fromIneligible = 0;
  for (let id = 0; id < snapshot.numShards; id++) {
    // A high shard not split yet has no key by design: creating one would split its pair without its owner.
    if (!shardInLayout(snapshot, id)) continue;
    const value = shardValueAt(snapshot, id);
    if (value.target !== '' && isPinned(value)) continue;
    if (eligible.has(value.target)) continue;
    if (value.current === value.target && ctx.ineligible.get(value.target) === 'stopping') continue;
    let target: string;
    if (value.target === '' && eligible.has(value.current)) {
      target = value.current;
      placement.add(target);
      adopted++;
    } else {
      target = placement.choose(id)!;
      if (value.target !== '') {
        if (ctx.ineligible.has(value.target)) fromIneligible++;
        else fromDead++;
      }
    }
    writes.push(shardWrite(snapshot, id, { target }));
  }
  if (writes.length === 0) return skip('all-assigned', 'every shard targets an eligible node');
  const parts = [`${adopted} adopt their current owner`];
  if (fromDead > 0) parts.push(`${fromDead} leave nodes that are not alive`);
  if (fromIneligible > 0) parts.push(`${fromIneligible} leave draining or stopping nodes`);
  const fresh = writes.length - adopted - fromDead - fromIneligible;
  if (fresh > 0) parts.push(`${fresh} had no target`);
  return {
    kind: 'write',
    writes,
    text: `assign targets to ${writes.length} shards by ${settings.assignment} (${parts.join(', ')})`,
  };
}
