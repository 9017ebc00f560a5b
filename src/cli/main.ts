import { CommanderError } from 'commander';
import { printableLines } from '../core/text/printable.js';
import { buildProgram, parseErrorCode } from './program.js';

/** Exit codes (exitCodes.ts): 0 ok, 1 error, 2 usage, 3 precondition failed, 4 problem found. */
async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return parseErrorCode(err.exitCode);
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

/** Waits until stdout has taken everything written, so an exit never truncates piped output. */
function flushed(): Promise<void> {
  return new Promise((resolve) => process.stdout.write('', () => resolve()));
}

main(process.argv.slice(2)).then(
  async (code) => {
    await flushed();
    // Explicit: etcd3's gRPC channels and timers must not keep a finished command alive.
    process.exit(code);
  },
  (err: unknown) => {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`goverse-top: ${printableLines(text)}\n`);
    process.exit(1);
  },
);
