/**
 * Writes from the console, pure halves: which core operation plans a request, and the status line that reports a
 * result. Execution is ClusterOperations' (CAS per key, flags kept).
 */
import type { OperationResult } from '../../cluster/operations.js';
import {
  type OperationContext,
  type OperationPlan,
  planDrain,
  planPause,
  planPin,
  planRelease,
  planResume,
  planRetarget,
  planUndrain,
} from '../../core/operations/operations.js';
import type { WriteRequest } from './palette.js';

/** The core operation plan for a write request. */
export function planWrite(request: WriteRequest, ctx: OperationContext): OperationPlan {
  switch (request.op) {
    case 'pin':
      return planPin(ctx, request.shards, true);
    case 'unpin':
      return planPin(ctx, request.shards, false);
    case 'retarget':
      return planRetarget(ctx, request.shards, request.to);
    case 'release':
      return planRelease(ctx, request.shards);
    case 'drain':
      return planDrain(ctx, request.node);
    case 'undrain':
      return planUndrain(ctx, request.node);
    case 'pause':
      return planPause(ctx, request.forMs, 'paused from goverse-top');
    case 'resume':
      return planResume(ctx);
  }
}

/** One status line for a write's result: what was written (key, old, new, ModRevision compared) or what went wrong. */
export function describeResult(r: OperationResult): string {
  const written = r.changes.filter((c) => c.outcome === 'written');
  const problems = r.changes.filter((c) => c.outcome === 'conflict' || c.outcome === 'failed');
  const parts: string[] = [];
  if (written.length === 1) {
    const c = written[0]!;
    parts.push(`wrote ${c.key}: ${JSON.stringify(c.old)} → ${c.new === null ? '(deleted)' : JSON.stringify(c.new)} (ModRevision was ${c.modRevision})`);
  } else if (written.length > 1) {
    parts.push(`wrote ${written.length} keys`);
  }
  for (const c of problems.slice(0, 2)) {
    parts.push(
      c.outcome === 'conflict'
        ? `CONFLICT on ${c.key}: changed meanwhile (now ${c.found === null ? 'absent' : JSON.stringify(c.found)}), not written`
        : `FAILED ${c.key}: ${c.error ?? 'unknown error'}`,
    );
  }
  if (problems.length > 2) parts.push(`${problems.length - 2} more problems`);
  return `${r.operation}: ${parts.join('; ') || r.summary}`;
}
