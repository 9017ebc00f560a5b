import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { ExitCode } from '../exitCodes.js';
import { action, withGlobalOptions } from '../command.js';
import { age, migrationAge } from '../render.js';

export function registerStuck(program: Command): void {
  const cmd = program
    .command('stuck')
    .description(
      'migrations older than the stuck timeout, and those of unknown age in a state nothing repairs (pinned to a node that is gone), oldest first; exit 4 when there are any',
    )
    // Here --timeout is the stuck timeout; the etcd timeout comes before the subcommand or from GOVERSE_ETCD_TIMEOUT.
    .option('--timeout <duration>', 'stuck timeout (default: --stuck-timeout, GOVERSE_STUCK_TIMEOUT, 1m)');
  withGlobalOptions(cmd, ['--timeout']);
  action(cmd, async (ctx, _args, options) => {
    const timeoutMs = options.timeout === undefined ? ctx.config.stuckTimeout : parseDuration(options.timeout as string);
    const view = ctx.view(await ctx.snapshot(), { stuckTimeoutMs: timeoutMs });
    if (ctx.out.format === 'json') {
      ctx.out.json({
        timeoutMs,
        revision: view.snapshot.revision,
        stuck: view.stuck.map((s) => ({
          id: s.shardId,
          state: s.state,
          ageMs: s.ageMs,
          ageSource: s.ageSource,
          ...(s.ageSource === 'unknown' ? { seenForMs: s.seenForMs } : {}),
          basis: s.basis,
          target: s.target,
          current: s.current,
          pinned: s.pinned,
          reason: s.reason,
        })),
      });
    } else if (view.stuck.length === 0) {
      const unknown = view.migrations.filter((m) => m.ageSource === 'unknown').length;
      const ofUnknownAge = unknown === 0 ? '' : `, ${unknown} of unknown age: no migration record`;
      ctx.out.line(`no migration older than ${age(timeoutMs)} (${view.migrations.length} in migration${ofUnknownAge})`);
    } else {
      ctx.out.table(
        ['ID', 'STATE', 'AGE', 'TARGET', 'CURRENT', 'REASON'],
        view.stuck.map((s) => [s.shardId, s.pinned ? `${s.state} (pinned)` : s.state, migrationAge(s), s.target || '-', s.current || '-', s.reason]),
      );
    }
    return view.stuck.length > 0 ? ExitCode.problemFound : ExitCode.ok;
  });
}
