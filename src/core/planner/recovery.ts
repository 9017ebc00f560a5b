import { Keyspace } from '../keyspace/keys.js';
import type { ReleaseRequestRecord } from '../keyspace/records.js';
import { type ClusterSnapshot, keyRevision } from '../snapshot/snapshot.js';
import { type PlannerContext, plannerContext } from './context.js';
import { type ShardWrite, shardWrite } from './plan.js';
import { Placement } from './placement.js';
import type { PlannerSettings } from './settings.js';
import type { StuckShard } from './stuck.js';

/** What the leader does about one stuck shard. Every variant says why in `text`. */
export type RecoveryAction =
  /** New target: the best eligible node other than the failing one (the owner itself when it is eligible). */
  | { readonly kind: 'retarget'; readonly shardId: number; readonly write: ShardWrite; readonly text: string }
  /** CurrentNode of a dead owner ← "", so the target can claim. */
  | { readonly kind: 'clear-owner'; readonly shardId: number; readonly write: ShardWrite; readonly text: string }
  /** Ask the live owner to release: put `<prefix>/release-request/<id>` (CAS on `expectedModRevision`). */
  | {
      readonly kind: 'request-release';
      readonly shardId: number;
      readonly expectedModRevision: number;
      readonly record: ReleaseRequestRecord;
      readonly text: string;
    }
  /** The owner did not release within the release timeout: TargetNode ← the owner, ending the migration. */
  | { readonly kind: 'cancel'; readonly shardId: number; readonly write: ShardWrite; readonly text: string }
  /** A release was requested; nothing to do before `until`. */
  | { readonly kind: 'wait'; readonly shardId: number; readonly until: number; readonly text: string }
  /** Nothing may be done automatically (pinned, or no other node): reported so that an operator can act. */
  | { readonly kind: 'report'; readonly shardId: number; readonly text: string };

/**
 * The recovery per stuck shard (ARCHITECTURE "Stuck migrations"). Pinned shards are never retargeted or cancelled;
 * clearing a dead owner and asking a live owner to release do not move a pin and are done for them too.
 */
export function planRecovery(
  snapshot: ClusterSnapshot,
  stuck: readonly StuckShard[],
  settings: Pick<PlannerSettings, 'assignment' | 'releaseTimeoutMs'>,
  now: number,
  by: string,
  ctx: PlannerContext = plannerContext(snapshot),
): RecoveryAction[] {
  let placement: Placement | null = null;
  const retarget = (s: StuckShard): RecoveryAction => {
    const shardId = s.shardId;
    if (s.pinned && s.target !== '') return { kind: 'report', shardId, text: `${s.reason}; pinned, so not retargeted` };
    // The owner is the cheapest target: no data moves.
    let to: string | null = ctx.index.has(s.current) && s.current !== s.target ? s.current : null;
    to ??= (placement ??= new Placement(ctx, snapshot, settings.assignment)).choose(shardId, s.target || undefined);
    if (to === null) return { kind: 'report', shardId, text: `${s.reason}; no other eligible node to retarget to` };
    return { kind: 'retarget', shardId, write: shardWrite(snapshot, shardId, { target: to }), text: `${s.reason}: retarget to ${to}` };
  };
  return stuck.map((s): RecoveryAction => {
    const shardId = s.shardId;
    switch (s.state) {
      case 'pinned-to-dead':
        return { kind: 'report', shardId, text: s.reason };
      case 'no-target':
      case 'target-dead':
      case 'target-unclaimed':
        return retarget(s);
      case 'owner-dead':
        return {
          kind: 'clear-owner',
          shardId,
          write: shardWrite(snapshot, shardId, { current: '' }),
          text: `${s.reason}: clear the dead owner`,
        };
      case 'owner-not-releasing': {
        const request = snapshot.releaseRequests.get(shardId);
        if (request === undefined || request.owner !== s.current) {
          return {
            kind: 'request-release',
            shardId,
            expectedModRevision: keyRevision(snapshot, request, new Keyspace(snapshot.prefix).releaseRequest(shardId)),
            record: { at: now, by, owner: s.current },
            text: `${s.reason}: ask ${s.current} to release`,
          };
        }
        const until = request.at + settings.releaseTimeoutMs;
        if (now < until) return { kind: 'wait', shardId, until, text: `${s.reason}: release requested, waiting` };
        if (s.pinned) return { kind: 'report', shardId, text: `${s.reason}; release requested in vain, pinned so not cancelled` };
        if (!ctx.index.has(s.current)) {
          return { kind: 'report', shardId, text: `${s.reason}; release requested in vain, owner not eligible so not cancelled` };
        }
        return {
          kind: 'cancel',
          shardId,
          write: shardWrite(snapshot, shardId, { target: s.current }),
          text: `${s.reason}: release requested in vain, cancel the migration (target back to ${s.current})`,
        };
      }
    }
  });
}
