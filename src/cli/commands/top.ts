import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { loadConsole } from '../consoleHook.js';
import { action, withGlobalOptions } from '../command.js';
import { runWatch } from './watch.js';

/** Opens the interactive console, or `watch` until the console is built. */
export async function openConsole(ctx: CommandContext): Promise<number> {
  const console = await loadConsole();
  if (console !== null) return console.runConsole({ config: ctx.config, logger: ctx.logger, actor: ctx.actor });
  ctx.out.note('the interactive console is not built yet; showing `watch` instead (Ctrl-C to quit)');
  return runWatch(ctx, ctx.config.refresh, null);
}

export function registerTop(program: Command): void {
  const cmd = program
    .command('top', { isDefault: true })
    .description('the interactive console (the default command)');
  withGlobalOptions(cmd);
  action(cmd, (ctx) => openConsole(ctx));
}
