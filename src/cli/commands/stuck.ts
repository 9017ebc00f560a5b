import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { ExitCode } from '../exitCodes.js';
import { action, withGlobalOptions } from '../command.js';
import { age } from '../render.js';

export function registerStuck(program: Command): void {
  const cmd = program
    .command('stuck')
    .description('migrations older than the stuck timeout, oldest first; exit 4 when there are any')
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
          target: s.target,
          current: s.current,
          pinned: s.pinned,
          reason: s.reason,
        })),
      });
    } else if (view.stuck.length === 0) {
      ctx.out.line(`no migration older than ${age(timeoutMs)} (${view.migrations.length} in migration)`);
    } else {
      ctx.out.table(
        ['ID', 'STATE', 'AGE', 'TARGET', 'CURRENT', 'REASON'],
        view.stuck.map((s) => [s.shardId, s.pinned ? `${s.state} (pinned)` : s.state, age(s.ageMs), s.target || '-', s.current || '-', s.reason]),
      );
    }
    return view.stuck.length > 0 ? ExitCode.problemFound : ExitCode.ok;
  });
}
