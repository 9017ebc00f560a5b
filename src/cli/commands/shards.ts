import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import { knownNodes } from '../../core/operations/operations.js';
import { parseShardList } from '../../core/operations/shardList.js';
import { malformedIn, malformedListing, parseShardFilterStates, SHARD_DIRS, selectShards, shardRow, type ShardFilter } from '../../core/view/index.js';
import { ExitCode } from '../exitCodes.js';
import { action, withGlobalOptions } from '../command.js';
import { cell, migrationAge } from '../render.js';

export function registerShards(program: Command): void {
  const cmd = program
    .command('shards')
    .description('shards with target, current, flags, state, migration age and ModRevision')
    .option('--node <address>', 'only shards targeted at or owned by this node')
    .option('--state <states>', 'only these states or flags, comma-separated: stable, migrating, unclaimed, no-target, orphaned, pinned, stuck')
    .option('--ids <shards>', 'only these shards: 1,5,10-20');
  withGlobalOptions(cmd);
  action(cmd, async (ctx, _args, options) => {
    const states = options.state === undefined ? undefined : parseShardFilterStates(options.state as string);
    const ids = options.ids === undefined ? undefined : parseShardList(options.ids as string, ctx.config.numShards);
    const snapshot = await ctx.snapshot();
    const node = options.node as string | undefined;
    if (node !== undefined && !knownNodes(snapshot).has(node)) {
      throw new InvalidArgumentError(`unknown node ${JSON.stringify(node)}; alive nodes: ${[...snapshot.nodes.keys()].sort().join(', ') || '(none)'}`);
    }
    // The objects and calls columns come from the nodes' metrics (and our nodes' load records).
    const scrapes = await ctx.scrape(snapshot);
    const view = ctx.view(snapshot, { metrics: scrapes.metrics, unmatchedMetrics: scrapes.unmatched });
    const filter: ShardFilter = { ...(node === undefined ? {} : { node }), ...(states ? { states } : {}), ...(ids ? { ids } : {}) };
    const rows = selectShards(view, filter).map((id) => shardRow(view, id));
    // Keys that look like shard keys but are not (aliases such as shard/007): never read as the shard they resemble.
    const malformed = malformedIn(view.malformed, snapshot.prefix, SHARD_DIRS);
    if (ctx.out.format === 'json') {
      ctx.out.json({
        revision: snapshot.revision,
        shards: rows.map((r) => ({
          id: r.id,
          target: r.target,
          current: r.current,
          flags: r.flags,
          state: r.state,
          pinned: r.pinned,
          stuck: r.stuck,
          ageMs: r.ageMs,
          ageSource: r.ageSource,
          modRevision: r.modRevision,
          objects: r.objects,
          callRate: r.calls,
          ...(r.warnings.length > 0 ? { warnings: r.warnings } : {}),
        })),
        malformed: malformedListing(malformed),
      });
      return ExitCode.ok;
    }
    ctx.out.table(
      ['ID', 'TARGET', 'CURRENT', 'FLAGS', 'STATE', 'AGE', 'OBJECTS', 'CALLS/S', 'MODREV'],
      rows.map((r) => [
        r.id,
        r.target || '-',
        r.current || '-',
        r.flags.join(',') || '-',
        r.stuck ? `${r.state} (stuck)` : r.state,
        migrationAge(r),
        cell(r.objects),
        cell(r.calls, 1),
        r.modRevision,
      ]),
    );
    ctx.out.note(`${rows.length} shards`);
    if (malformed.length > 0) {
      const first = malformed.slice(0, 3).map((m) => `${m.key} (${m.reason})`);
      ctx.out.note(`${malformed.length} malformed shard keys, ignored: ${first.join(', ')}${malformed.length > 3 ? ', ...' : ''}`);
    }
    return ExitCode.ok;
  });
}
