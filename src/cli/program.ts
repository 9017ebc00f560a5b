import { Command } from 'commander';
import { VERSION } from '../version.js';
import { registerDemo } from './commands/demo.js';
import { registerDrain } from './commands/drain.js';
import { registerHistory } from './commands/history.js';
import { registerLocate } from './commands/locate.js';
import { registerNodes } from './commands/nodes.js';
import { registerPin } from './commands/pin.js';
import { registerRebalance } from './commands/rebalance.js';
import { registerReassign } from './commands/reassign.js';
import { registerRelease } from './commands/release.js';
import { registerReshard } from './commands/reshard.js';
import { registerShards } from './commands/shards.js';
import { registerStatus } from './commands/status.js';
import { registerStuck } from './commands/stuck.js';
import { registerTop } from './commands/top.js';
import { registerWatch } from './commands/watch.js';
import { withGlobalOptions } from './command.js';
import { ExitCode } from './exitCodes.js';

export function buildProgram(): Command {
  const program = new Command('goverse-top')
    .description('Console and scripted control of a Goverse cluster: shard distribution, stuck migrations, operator actions')
    .version(VERSION)
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  withGlobalOptions(program);
  for (const register of [
    registerTop,
    registerStatus,
    registerNodes,
    registerShards,
    registerStuck,
    registerLocate,
    registerPin,
    registerReassign,
    registerRelease,
    registerDrain,
    registerRebalance,
    registerReshard,
    registerHistory,
    registerWatch,
    registerDemo,
  ]) {
    register(program);
  }
  return program;
}

/** Exit code of a commander parse error: help and version are 0, everything else is a usage error. */
export function parseErrorCode(exitCode: number): number {
  return exitCode === 0 ? ExitCode.ok : ExitCode.usage;
}
