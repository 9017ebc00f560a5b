import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { checkPauseLength } from '../../core/operations/operations.js';
import { describeMoves } from '../../core/planner/plan.js';
import { rebalanceStrategy } from '../../core/planner/rebalance.js';
import { plannerSettingsFromConfig } from '../../core/planner/settings.js';
import { formatShardValue } from '../../core/keyspace/shardValue.js';
import { ExitCode } from '../exitCodes.js';
import { runMutation, withMutationOptions } from '../mutation.js';
import { action, withGlobalOptions } from '../command.js';

export function registerRebalance(program: Command): void {
  const group = program.command('rebalance').description('plan, pause or resume rebalancing');

  const plan = group
    .command('plan')
    .description('show the moves a rebalance strategy would make now, or why it makes none (writes nothing)')
    .option('--strategy <name>', 'count, weighted or load (default: the configured strategy)');
  withGlobalOptions(plan);
  action(plan, async (ctx, _args, options) => {
    const strategy = rebalanceStrategy((options.strategy as string | undefined) ?? ctx.config.rebalanceStrategy);
    const snapshot = await ctx.snapshot();
    const result = strategy.plan(snapshot, plannerSettingsFromConfig(ctx.config), snapshot.load, 'idle');
    const { keys } = ctx;
    const moves = result.kind === 'write' ? result.writes : [];
    const rows = moves.map((w) => ({
      id: w.shardId,
      key: keys.shard(w.shardId),
      from: w.before.target,
      to: w.after.target,
      old: snapshot.shards[w.shardId]?.raw ?? null,
      new: formatShardValue(w.after),
      modRevision: w.expectedModRevision,
    }));
    if (ctx.out.format === 'json') {
      ctx.out.json({
        strategy: strategy.name,
        revision: snapshot.revision,
        kind: result.kind,
        reason: result.kind === 'skip' ? result.reason : null,
        text: result.text,
        moves: rows,
      });
      return ExitCode.ok;
    }
    ctx.out.line(result.text);
    if (rows.length > 0) {
      ctx.out.line(`moves: ${describeMoves(moves)}`);
      ctx.out.table(['ID', 'FROM', 'TO', 'OLD', 'NEW', 'MODREV'], rows.map((r) => [r.id, r.from || '(none)', r.to, r.old ?? '(absent)', r.new, r.modRevision]));
    }
    return ExitCode.ok;
  });

  const pause = group
    .command('pause')
    .description('pause rebalancing for a while (the record expires by itself); reassigning and stuck recovery go on')
    .option('--for <duration>', 'how long, at least 1s and at most the longest pause (GOVERSE_MAX_PAUSE, 24h)', '10m')
    .option('--reason <text>', 'shown to other operators', '');
  withMutationOptions(withGlobalOptions(pause));
  action(pause, (ctx, _args, options) => {
    const forMs = parseDuration(options.for as string);
    // Refused (exit 2) before etcd is touched.
    checkPauseLength(forMs, ctx.config.maxPause);
    return runMutation({ ctx, request: { kind: 'pause', forMs, reason: options.reason as string }, options });
  });

  const resume = group.command('resume').description('end a pause of rebalancing now');
  withMutationOptions(withGlobalOptions(resume));
  action(resume, (ctx, _args, options) => runMutation({ ctx, request: { kind: 'resume' }, options }));
}
