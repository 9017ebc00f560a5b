import type { Command } from 'commander';
import { countChanging } from '../../core/planner/context.js';
import { cannotFollowMatters, cannotFollowText } from '../../core/planner/countFollowers.js';
import { type ClusterView, MALFORMED_LISTED, malformedIn, malformedListing } from '../../core/view/index.js';
import { ExitCode } from '../exitCodes.js';
import { action, withGlobalOptions } from '../command.js';
import { age } from '../render.js';

/** Malformed keys the table lists one per line; the JSON document lists more. */
const MALFORMED_SHOWN = 10;

/** The status document; `watch -o json` prints the same per line. */
export function statusDocument(view: ClusterView): Record<string, unknown> {
  const c = view.counts;
  const alive = view.nodes.filter((n) => n.alive);
  const b = view.balancer;
  return {
    prefix: view.snapshot.prefix,
    revision: view.snapshot.revision,
    leader: view.leader?.address ?? null,
    leaderAlive: view.leader?.alive ?? false,
    nodes: {
      alive: alive.length,
      eligible: alive.filter((n) => n.status === 'eligible').length,
      draining: alive.filter((n) => n.draining).length,
      stopping: alive.filter((n) => n.stopping).length,
      known: view.nodes.length,
      // Node keys that are not live members (no lease, value differs from the key, bad address): never placed on.
      rejected: malformedIn(view.malformed, view.snapshot.prefix, ['nodes']).length,
    },
    gates: view.gates.length,
    upstream: {
      nodes: view.upstream.nodes.length,
      gates: view.upstream.gates.length,
      leader: view.upstream.leader,
      unreachableShards: view.upstream.unreachableShards,
      unreachableOwners: view.upstream.unreachableOwners,
    },
    shardCount: shardCountDocument(view),
    shards: {
      total: c.total,
      owned: c.owned,
      unowned: c.unowned,
      stable: c.stable,
      migrating: c.migrating,
      unclaimed: c.unclaimed,
      noTarget: c.noTarget,
      orphaned: c.orphaned,
      absent: c.absent,
      inMigration: c.inMigration,
      stuck: c.stuck,
      pinned: c.pinned,
    },
    balancer: { state: b.state, reason: b.reason, source: b.source, strategy: b.strategy, pause: b.pause },
    imbalance: view.imbalance,
    malformed: view.malformed.length,
    malformedKeys: malformedListing(view.malformed),
  };
}

/**
 * The count in force, where it comes from, the transition under way with its pairs done (docs/RESHARDING.md §5.5), and
 * the members that cannot follow a count change.
 */
function shardCountDocument(view: ClusterView): Record<string, unknown> {
  const { layout } = view.snapshot;
  const r = view.reshard;
  return {
    count: layout.count,
    source: layout.source,
    reshards: layout.reshards,
    transition:
      r === null
        ? null
        : {
            id: r.id,
            kind: r.kind,
            state: r.state,
            from: r.from,
            to: r.to,
            goal: r.goal,
            pairs: r.pairs,
            done: r.done,
            startedAt: r.startedAt === 0 ? null : r.startedAt,
            ageMs: r.startedAt === 0 ? null : Math.max(0, view.now - r.startedAt),
            by: r.by,
          },
    cannotFollow: view.cannotFollow,
    cannotFollowMatters: cannotFollowMatters(view.snapshot, view.cannotFollow),
  };
}

/** The status table's lines about the shard count: the count in force, a transition's progress, who cannot follow. */
export function shardCountLines(view: ClusterView): string[] {
  const { layout } = view.snapshot;
  const source = layout.source === 'record' ? `from the cluster's record${layout.reshards > 0 ? `, ${layout.reshards} reshard${layout.reshards === 1 ? '' : 's'} done` : ''}` : 'configured; the cluster has no record yet';
  const lines = [`count     ${layout.count} shards (${source})`];
  const r = view.reshard;
  if (r !== null) {
    const percent = r.pairs === 0 ? 100 : Math.floor((r.done * 100) / r.pairs);
    const started = r.startedAt === 0 ? '' : `, started ${age(Math.max(0, view.now - r.startedAt))} ago${r.by === '' ? '' : ` by ${r.by}`}`;
    const phase = r.state === 'aborting' ? `aborting (back to ${r.from}): ${r.done}/${r.pairs} pairs back` : `running: ${r.done}/${r.pairs} pairs done`;
    lines.push(`reshard   ${r.kind} ${r.from} -> ${r.to} ${phase} (${percent}%)${started}; ${view.counts.absent} high shards absent`);
  }
  const members = view.cannotFollow;
  if (members.length > 0) {
    const named = members.map((m) => `${m.kind} ${m.address} (${cannotFollowText(m)})`).join(', ');
    const effect = countChanging(view.snapshot) ? 'the count is changing or has changed: they get no shards' : 'a reshard is refused while they are members';
    lines.push(`follow    ${members.length} member${members.length === 1 ? '' : 's'} cannot follow a shard-count change: ${named}; ${effect}`);
  }
  return lines;
}

/**
 * Upstream processes in the cluster and what they cannot reach, or null when there are none: shard custody is shared,
 * object calls are not (upstream calls over its gRPC protocol, goverse-node serves HTTP/JSON).
 */
function upstreamLine(view: ClusterView): string | null {
  const u = view.upstream;
  if (u.nodes.length === 0 && u.gates.length === 0) return null;
  const members = [`${u.nodes.length} upstream node${u.nodes.length === 1 ? '' : 's'}`, `${u.gates.length} gate${u.gates.length === 1 ? '' : 's'}`];
  const leader = u.leader === null ? '' : ' (the leader is upstream: drain and pause have no effect)';
  const unreachable =
    u.unreachableShards === 0
      ? ''
      : `; ${u.unreachableShards} shards owned by goverse-nodes are unreachable from upstream callers (object calls do not cross implementations)`;
  return `${members.join(', ')}${leader}${unreachable}`;
}

export function registerStatus(program: Command): void {
  const cmd = program
    .command('status')
    .description('cluster summary: leader, nodes, shard states, balancer; exit 4 when some shard has no alive owner');
  withGlobalOptions(cmd);
  action(cmd, async (ctx) => {
    const view = ctx.view(await ctx.snapshot());
    const c = view.counts;
    if (ctx.out.format === 'json') {
      ctx.out.json(statusDocument(view));
    } else {
      const out = ctx.out;
      const alive = view.nodes.filter((n) => n.alive).length;
      const b = view.balancer;
      out.line(`cluster   ${view.snapshot.prefix} at revision ${view.snapshot.revision}`);
      out.line(`leader    ${view.leader === null ? '(none)' : `${view.leader.address}${view.leader.alive ? '' : ' (not alive)'}`}`);
      out.line(`nodes     ${alive} alive${view.gates.length > 0 ? `, ${view.gates.length} gates` : ''}`);
      for (const line of shardCountLines(view)) out.line(line);
      out.line(
        `shards    ${c.owned}/${c.total} owned, ${c.migrating} migrating, ${c.unclaimed} unclaimed, ${c.noTarget} without target, ` +
          `${c.orphaned} orphaned, ${c.stuck} stuck, ${c.pinned} pinned`,
      );
      const up = upstreamLine(view);
      if (up !== null) out.line(`upstream  ${up}`);
      out.line(`balancer  ${b.state}: ${b.reason}${b.source === 'computed' ? ' (computed here; no fresh status from a leader)' : ''}`);
      if (b.pause !== null) out.line(`paused    by ${b.pause.by} for ${age(b.pause.remainingMs)} more${b.pause.reason ? `: ${b.pause.reason}` : ''}`);
      const rejected = malformedIn(view.malformed, view.snapshot.prefix, ['nodes']).length;
      if (rejected > 0) out.line(`rejected  ${rejected} node keys are not live members and get no shards (listed below)`);
      if (view.malformed.length > 0) {
        out.line(`malformed ${view.malformed.length} keys, ignored:`);
        for (const m of view.malformed.slice(0, MALFORMED_SHOWN)) out.line(`  ${m.key}: ${m.reason}`);
        if (view.malformed.length > MALFORMED_SHOWN) {
          out.line(`  ... ${view.malformed.length - MALFORMED_SHOWN} more (-o json lists ${MALFORMED_LISTED} with their values)`);
        }
      }
    }
    if (c.unowned > 0) {
      ctx.out.note(`${c.unowned} of ${c.total} shards have no alive owner`);
      return ExitCode.problemFound;
    }
    return ExitCode.ok;
  });
}
