import type { BalancerOutlook } from '../core/operations/outlook.js';
import type { OperationResult } from '../core/operations/result.js';
import { formatShardList } from '../core/operations/shardList.js';
import { formatDuration } from '../core/duration.js';
import { counted } from '../core/text/plural.js';
import type { MetricsStatus, NodeView } from '../core/view/index.js';
import { ExitCode } from './exitCodes.js';
import type { Output } from './output.js';

/** Table cells: `-` for unknown, never a misleading 0. */
export function cell(value: number | null, digits = 0): string {
  if (value === null || !Number.isFinite(value)) return '-';
  return digits === 0 ? String(Math.round(value)) : value.toFixed(digits);
}

/** An age rounded to the second, in the duration form flags accept (`1m30s`). */
export function age(ms: number | null): string {
  return ms === null ? '-' : formatDuration(Math.round(ms / 1000) * 1000);
}

/** A migration's age: `?` when its start is unknown (no migration record), `-` when the shard is not in migration. */
export function migrationAge(m: { readonly ageMs: number | null; readonly ageSource: string | null }): string {
  return m.ageSource === 'unknown' ? '?' : age(m.ageMs);
}

/** nodetool-style state code readable without colour: U/D alive or dead, then L leader, R not ready, X draining, S stopping. */
export function nodeCode(n: NodeView): string {
  let code = n.alive ? 'U' : 'D';
  if (n.leader) code += 'L';
  if (n.ready === false) code += 'R';
  if (n.draining) code += 'X';
  if (n.stopping) code += 'S';
  return code;
}

/** `now`: when the figures were read, for the age of stale ones. */
export function metricsText(m: MetricsStatus, now: number): string {
  if (m.kind === 'ok') return 'ok';
  if (m.kind === 'stale') return `stale: ${age(now - m.atMs)} old`;
  return `${m.kind}: ${m.reason}`;
}

/** The JSON form of a node's metrics status: reachable or why not (stale figures are from an earlier answer). */
export function metricsJson(m: MetricsStatus): Record<string, unknown> {
  if (m.kind === 'ok' || m.kind === 'stale') return { reachable: true, status: m.kind, url: m.url, atMs: m.atMs };
  return { reachable: false, status: m.kind, url: m.kind === 'none' ? null : m.url, reason: m.reason };
}

/**
 * Prints what a mutation did (or would do): key, old value, new value and the ModRevision compared, and what the
 * balancer would do next when given (`balancer` in JSON, a warning on stderr when it would move shards back). Exit
 * code: 3 when a compare lost (someone changed the key since it was read), 1 when a write failed, else 0.
 */
export function renderOperation(out: Output, result: OperationResult, outlook: BalancerOutlook | null = null): number {
  if (out.format === 'json') {
    out.json({
      operation: result.operation,
      summary: result.summary,
      dryRun: result.dryRun,
      changes: result.changes,
      skipped: result.skipped,
      conflicts: result.conflicts,
      failed: result.failed,
      ...(outlook === null ? {} : { balancer: outlook }),
    });
  } else {
    out.line(result.dryRun ? `${result.summary} (dry run: nothing written)` : result.summary);
    if (result.changes.length > 0) {
      out.table(
        ['ID', 'KEY', 'OLD', 'NEW', 'MODREV', 'RESULT'],
        result.changes.map((c) => [
          c.id,
          c.key,
          c.old ?? '(absent)',
          c.new ?? '(delete)',
          c.modRevision,
          c.outcome === 'conflict' ? `conflict: found ${c.found ?? '(absent)'}` : c.outcome === 'failed' ? `failed: ${c.error}` : c.outcome,
        ]),
      );
    }
  }
  for (const s of result.skipped) out.note(`skipped shard ${s.shardId}: ${s.reason}`);
  const warning = outlook === null ? null : outlookText(outlook);
  if (warning !== null) out.note(warning);
  if (result.conflicts > 0) {
    out.note(`${counted(result.conflicts, 'change')} lost their compare-and-swap: the key changed since it was read; nothing was overwritten`);
    return ExitCode.precondition;
  }
  return result.failed > 0 ? ExitCode.error : ExitCode.ok;
}

/**
 * The balancer's outlook in the CLI's words: a warning naming the shards it would move back and the two ways to keep
 * them (`--pin`, a pause), or a note on the other shards it would move; null when it would move nothing.
 */
export function outlookText(o: BalancerOutlook): string | null {
  const when = o.pausedUntil === null ? 'at once' : `when the pause ends (${new Date(o.pausedUntil).toISOString()})`;
  if (o.movedBack.length > 0) {
    return (
      `warning: the balancer (${o.strategy}) would move ${counted(o.movedBack.length, 'shard')} of these back ${when}: ` +
      `${formatShardList(o.movedBack)} (${counted(o.moves, 'move')} in all, the cluster is near its imbalance threshold); ` +
      'keep them with --pin (pinned in the same write) or pause rebalancing first (goverse-top rebalance pause --for <duration>)'
    );
  }
  if (o.moves > 0) return `note: the balancer (${o.strategy}) would then move ${counted(o.moves, 'other shard')} ${when}, keeping these`;
  return null;
}
