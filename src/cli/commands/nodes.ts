import type { Command } from 'commander';
import { ExitCode } from '../exitCodes.js';
import { action, withGlobalOptions } from '../command.js';
import { cell, metricsJson, metricsText, nodeCode } from '../render.js';

export function registerNodes(program: Command): void {
  const cmd = program
    .command('nodes')
    .description('one row per node: state, shards targeted and owned against the ideal, objects, calls, locks, metrics');
  withGlobalOptions(cmd);
  action(cmd, async (ctx) => {
    const snapshot = await ctx.snapshot();
    const scrapes = await ctx.scrape(snapshot);
    const view = ctx.view(snapshot, { metrics: scrapes.metrics, unmatchedMetrics: scrapes.unmatched });
    if (ctx.out.format === 'json') {
      ctx.out.json({
        revision: snapshot.revision,
        nodes: view.nodes.map((n) => ({
          address: n.address,
          nodeId: n.nodeId,
          alive: n.alive,
          leader: n.leader,
          ready: n.ready,
          status: n.status,
          weight: n.weight,
          shardsTarget: n.shardsTarget,
          shardsOwned: n.shardsOwned,
          shardsPinned: n.shardsPinned,
          ideal: n.ideal,
          objects: n.objects,
          callRate: n.callRate,
          lockWaitP99Ms: n.lockWaitP99Ms,
          writeLocksHeld: n.writeLocksHeld,
          lockTimeouts: n.lockTimeouts,
          version: n.version,
          metrics: metricsJson(n.metrics),
        })),
        unmatchedMetrics: view.unmatchedMetrics,
      });
      return ExitCode.ok;
    }
    ctx.out.table(
      ['ST', 'ADDRESS', 'ID', 'READY', 'TARGET/IDEAL', 'OWNED', 'PINNED', 'OBJECTS', 'CALLS/S', 'LOCK P99 MS', 'WLOCKS', 'LOCK TMO', 'METRICS'],
      view.nodes.map((n) => [
        nodeCode(n),
        n.address,
        n.nodeId ?? '-',
        n.ready === null ? '-' : n.ready ? 'yes' : 'no',
        `${n.shardsTarget}/${n.status === 'eligible' ? cell(n.ideal, 1) : '-'}`,
        n.shardsOwned,
        n.shardsPinned,
        cell(n.objects),
        cell(n.callRate, 1),
        cell(n.lockWaitP99Ms, 2),
        cell(n.writeLocksHeld),
        cell(n.lockTimeouts),
        metricsText(n.metrics, view.now),
      ]),
    );
    ctx.out.line('ST: U alive, D dead, L leader, R not ready, X draining, S stopping');
    for (const u of view.unmatchedMetrics) ctx.out.note(`metrics ${u.url}: ${u.reason}`);
    return ExitCode.ok;
  });
}
