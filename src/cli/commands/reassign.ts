import type { Command } from 'commander';
import { parseShardList } from '../../core/operations/shardList.js';
import { refusals, runMutation, withMutationOptions } from '../mutation.js';
import { action, withGlobalOptions } from '../command.js';

export function registerReassign(program: Command): void {
  const cmd = program
    .command('reassign <shards>')
    .description('set the TargetNode of shards: to --to NODE, or to the best eligible node per shard; pins and flags are kept')
    .option('--to <node>', 'the new target (default: the best eligible node per shard, never the current target)')
    .option('--force', 'target a node that is not alive, draining or stopping anyway')
    .option('--pin', 'pin the shards in the same write, so the balancer cannot move them back');
  withMutationOptions(withGlobalOptions(cmd));
  action(cmd, (ctx, [shards], options) => {
    const ids = parseShardList(shards!, ctx.config.numShards);
    const to = (options.to as string | undefined) ?? null;
    return runMutation({ ctx, request: { kind: 'retarget', shards: ids, to, refusals: refusals(options), pin: options.pin === true }, options });
  });
}
