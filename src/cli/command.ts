import { type Command, Option } from 'commander';
import { flagDefinitions } from '../core/config/flags.js';
import { describeError } from '../core/errors.js';
import { printable } from '../core/text/printable.js';
import { CommandContext, globalOptions, markGlobal } from './context.js';
import { exitCodeFor } from './exitCodes.js';

const CONFIG_FLAG = ['--config <file>', 'YAML configuration file, upstream format (env GOVERSE_CONFIG)'] as const;

/**
 * Adds the connection and output options to a command. Every leaf command declares them itself (the program only
 * parses those before the subcommand), so `goverse-top status -o json` and `goverse-top -o json status` both work.
 * `except` leaves out flags a command gives another meaning (`stuck --timeout`).
 */
export function withGlobalOptions(cmd: Command, except: readonly string[] = []): Command {
  // Listed once, in `goverse-top --help`; a subcommand's help shows its own options.
  const hidden = cmd.parent !== null;
  const add = (flags: string, description: string): void => {
    const option = new Option(flags, description);
    markGlobal(cmd, option.attributeName());
    cmd.addOption(hidden ? option.hideHelp() : option);
  };
  add(...CONFIG_FLAG);
  for (const f of flagDefinitions('cli')) {
    if (!except.some((flag) => f.flags.includes(flag))) add(f.flags, f.description);
  }
  if (hidden) cmd.addHelpText('after', '\nConnection and output options (--etcd, -o, --timeout, ...): see goverse-top --help');
  return cmd;
}

/** `options` are the command's own (`--dry-run`, `--to`); connection and output options are in `ctx.config`. */
export type CommandHandler = (ctx: CommandContext, args: string[], options: Record<string, unknown>) => Promise<number>;

/**
 * Runs a command: resolve the configuration, run, map errors to exit codes with one message on stderr, close etcd.
 * The exit code lands in process.exitCode for main to use.
 */
export function action(cmd: Command, handler: CommandHandler): Command {
  return cmd.action(async (...params: unknown[]) => {
    const self = params[params.length - 1] as Command;
    const args = params.slice(0, -2).flatMap((a) => (a === undefined ? [] : Array.isArray(a) ? (a as string[]) : [a as string]));
    let ctx: CommandContext | null = null;
    try {
      ctx = await CommandContext.create(globalOptions(self));
      process.exitCode = await handler(ctx, args, self.opts());
    } catch (err) {
      // Messages quote etcd values and node answers: shown printable, as every other line.
      process.stderr.write(`goverse-top ${self.name()}: ${printable(describeError(err))}\n`);
      process.exitCode = exitCodeFor(err);
    } finally {
      await ctx?.close();
    }
  });
}
