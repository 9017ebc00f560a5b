/**
 * Writes from the console, pure half: the status line that reports a result, why there is nothing to write, or why
 * the core refused to plan. Requests are planned with `planOperation` and executed by ClusterOperations (CAS per
 * key, flags kept).
 */
import { describeError } from '../../core/errors.js';
import {
  type ForceRefusal,
  ForceRequiredError,
  type OperationPlan,
  type OperationRequest,
  UpstreamLeaderError,
} from '../../core/operations/operations.js';
import type { OperationResult } from '../../core/operations/result.js';
import { formatShardList } from '../../core/operations/shardList.js';
import { counted } from '../../core/text/plural.js';

/** One status line for a write's result: what was written (key, old, new, ModRevision compared) or what went wrong. */
export function describeResult(r: OperationResult): string {
  const written = r.changes.filter((c) => c.outcome === 'written');
  const problems = r.changes.filter((c) => c.outcome === 'conflict' || c.outcome === 'failed');
  const parts: string[] = [];
  if (written.length === 1) {
    const c = written[0]!;
    parts.push(`wrote ${c.key}: ${JSON.stringify(c.old)} → ${c.new === null ? '(deleted)' : JSON.stringify(c.new)} (ModRevision was ${c.modRevision})`);
  } else if (written.length > 1) {
    parts.push(`wrote ${counted(written.length, 'key')}`);
  }
  for (const c of problems.slice(0, 2)) {
    parts.push(
      c.outcome === 'conflict'
        ? `CONFLICT on ${c.key}: changed meanwhile (now ${c.found === null ? 'absent' : JSON.stringify(c.found)}), not written`
        : `FAILED ${c.key}: ${c.error ?? 'unknown error'}`,
    );
  }
  if (problems.length > 2) parts.push(counted(problems.length - 2, 'more problem'));
  return `${r.operation}: ${parts.join('; ') || r.summary}`;
}

/** A refusal in the console's words: what holds, without the CLI's `--force`, which the console does not have. */
function refusalText(r: ForceRefusal): string {
  switch (r.code) {
    case 'target-not-alive':
      return `node ${r.node} is not alive`;
    case 'target-ineligible':
      return `node ${r.node} is ${r.why}`;
    case 'owner-alive':
      // Settled on its owner; without a target it may still be reported stuck (the leader adopts the owner as target).
      return r.target === r.node
        ? `not stuck (owned by alive node ${r.node}, not migrating)`
        : `owned by alive node ${r.node}, no target, not migrating`;
  }
}

const forceFromCli = (command: string): string => `forcing is only available from the CLI: ${command}`;

/** A shard a plan skips, and why. */
export function skipText(s: OperationPlan['skipped'][number]): string {
  return `shard ${s.shardId}: ${s.refusal === undefined ? s.reason : refusalText(s.refusal)}`;
}

/** The CLI command that would force the shards a plan refused to release, or null when it refused none. */
export function forceAdvice(plan: OperationPlan): string | null {
  const refused = plan.skipped.filter((s) => s.refusal?.code === 'owner-alive').map((s) => s.shardId);
  return refused.length === 0 ? null : forceFromCli(`goverse-top release ${formatShardList(refused)} --force`);
}

/** The status line for a plan that writes nothing: why, shard by shard, and where forcing is possible. */
export function nothingToDoText(plan: OperationPlan): string {
  const why = plan.skipped.map(skipText).join('; ');
  const force = forceAdvice(plan);
  return `${plan.operation}: nothing to do${why === '' ? ` (${plan.summary})` : `: ${why}`}${force === null ? '' : `; ${force}`}`;
}

/** The status line for a request the core refused to plan. */
export function planFailureText(request: OperationRequest, err: unknown): string {
  if (err instanceof ForceRequiredError && request.kind === 'retarget') {
    const command = `goverse-top reassign ${formatShardList(request.shards)} --to ${err.refusal.node} --force`;
    return `${request.kind}: ${refusalText(err.refusal)}; ${forceFromCli(command)}`;
  }
  if (err instanceof UpstreamLeaderError) {
    const ignores = err.operation === 'drain' ? 'ignores drain marks (it would move shards back)' : 'ignores pauses (it goes on rebalancing)';
    return `${request.kind} refused: the leader ${err.leader} is an upstream Goverse node, which ${ignores}; pin shards (p) and reassign them (r) instead`;
  }
  return `${request.kind}: ${describeError(err)}`;
}
