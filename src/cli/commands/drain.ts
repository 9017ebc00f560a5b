import type { Command } from 'commander';
import { formatDuration, parseDuration } from '../../core/duration.js';
import { isPinned } from '../../core/keyspace/shardValue.js';
import type { ClusterSnapshot } from '../../core/snapshot/snapshot.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exitCodes.js';
import { runMutation, withMutationOptions } from '../mutation.js';
import { action, withGlobalOptions } from '../command.js';

const POLL_MS = 500;

export function registerDrain(program: Command): void {
  const drain = program
    .command('drain <node>')
    .description('mark a node drained (no new targets until undrain) and retarget its unpinned shards to other nodes')
    .option('--wait', 'wait until no unpinned shard is targeted at or owned by the node, printing progress')
    .option('--wait-timeout <duration>', 'give up waiting after this long (exit 1)', '10m');
  withMutationOptions(withGlobalOptions(drain));
  action(drain, (ctx, [node], options) => {
    const waitMs = options.wait === true ? parseDuration(options.waitTimeout as string) : null;
    return runMutation({
      ctx,
      request: { kind: 'drain', node: node! },
      options,
      ...(waitMs === null ? {} : { after: () => waitDrained(ctx, node!, waitMs) }),
    });
  });

  const undrain = program.command('undrain <node>').description('remove the drain mark of a node: it gets targets again');
  withMutationOptions(withGlobalOptions(undrain));
  action(undrain, (ctx, [node], options) => runMutation({ ctx, request: { kind: 'undrain', node: node! }, options }));
}

/** Shards still on the node: targeted at it or owned by it, except those pinned to it (a drain leaves them). */
function remaining(snapshot: ClusterSnapshot, node: string): number {
  let n = 0;
  for (const e of snapshot.shards) {
    if (e === undefined || (e.target !== node && e.current !== node)) continue;
    if (e.target === node && isPinned(e)) continue;
    n++;
  }
  return n;
}

async function waitDrained(ctx: CommandContext, node: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let total: number | null = null;
  let last = -1;
  for (;;) {
    const left = remaining(await ctx.snapshot(), node);
    total ??= left;
    if (left !== last) ctx.out.note(`drain ${node}: ${total - left}/${total} shards moved`);
    last = left;
    if (left === 0) return ExitCode.ok;
    if (Date.now() >= deadline) {
      ctx.out.note(`drain ${node}: ${left} shards still on the node after ${formatDuration(timeoutMs)}`);
      return ExitCode.error;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
