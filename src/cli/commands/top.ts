import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { action, withGlobalOptions } from '../command.js';

/** Opens the interactive console. Loaded on demand: scripted subcommands never load it (nor Ink). */
export async function openConsole(ctx: CommandContext): Promise<number> {
  const { runConsole } = await import('../../console/main.js');
  return runConsole({ config: ctx.config, keys: ctx.keys, logger: ctx.logger, actor: ctx.actor, shardCount: ctx.shardCount });
}

export function registerTop(program: Command): void {
  const cmd = program
    .command('top', { isDefault: true })
    .description('the interactive console (the default command)');
  withGlobalOptions(cmd);
  action(cmd, (ctx) => openConsole(ctx));
}
