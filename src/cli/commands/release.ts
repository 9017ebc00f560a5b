import type { Command } from 'commander';
import { parseShardList } from '../../core/operations/shardList.js';
import { refusals, runMutation, withMutationOptions } from '../mutation.js';
import { action, withGlobalOptions } from '../command.js';

export function registerRelease(program: Command): void {
  const cmd = program
    .command('release <shards>')
    .description(
      'clear the CurrentNode of shards whose owner is dead; ask a live owner of a migrating shard to release it; ' +
        '--force clears a live owner of a stable shard too',
    )
    .option('--force', 'clear the CurrentNode even when its owner is alive and the shard is not migrating');
  withMutationOptions(withGlobalOptions(cmd));
  action(cmd, (ctx, [shards], options) => {
    const ids = parseShardList(shards!, ctx.config.numShards);
    return runMutation({ ctx, request: { kind: 'release', shards: ids, refusals: refusals(options) }, options });
  });
}
