import type { Command } from 'commander';
import { parseShardList } from '../../core/operations/shardList.js';
import { withMutationOptions, runMutation } from '../mutation.js';
import { action, withGlobalOptions } from '../command.js';

export function registerPin(program: Command): void {
  for (const name of ['pin', 'unpin'] as const) {
    const cmd = program
      .command(`${name} <shards>`)
      .description(
        name === 'pin'
          ? 'add f=pinned to shards (1,5,10-20 or all): the balancer never moves them; other flags are kept'
          : 'remove f=pinned from shards; other flags are kept',
      );
    withMutationOptions(withGlobalOptions(cmd));
    action(cmd, (ctx, [shards], options) => {
      const ids = parseShardList(shards!, ctx.config.numShards);
      return runMutation({ ctx, request: { kind: name, shards: ids }, options });
    });
  }
}
