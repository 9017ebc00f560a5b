import { createWriteStream } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { explicitSource } from '../core/config/resolve.js';
import { describeError, GoverseError } from '../core/errors.js';
import { createLogger, streamSink } from '../core/log/logger.js';
import { printable, printableLines } from '../core/text/printable.js';
import { VERSION } from '../version.js';
import { GoverseNode } from './node.js';
import { loadNodeConfig, withNodeSettings } from './nodeConfig.js';

/**
 * Exit codes: 0 clean stop, 1 runtime failure, 2 bad flags or configuration. `goverse-node db ...` is the schema tool
 * of the PostgreSQL object store (dbCommand.ts).
 */
async function main(argv: readonly string[]): Promise<number> {
  // The schema tool and its PostgreSQL driver are loaded only for it: every node start would pay for them.
  if (argv[0] === 'db') return (await import('./dbCommand.js')).runDbCommand(argv.slice(1));
  const program = withNodeSettings(
    new Command('goverse-node')
      .description('A Goverse cluster node: hosts virtual objects in the shards it owns (`goverse-node db --help`: the PostgreSQL schema tool)')
      .version(VERSION)
      .exitOverride()
      .configureOutput({ writeErr: (s) => process.stderr.write(s) }),
  );
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const opts = program.opts<Record<string, unknown>>();
  let resolved;
  try {
    resolved = await loadNodeConfig(opts, process.env);
  } catch (err) {
    process.stderr.write(`goverse-node: ${printable(describeError(err))}\n`);
    return 2;
  }
  const { config } = resolved;
  const sink = streamSink(config.logFile === '' ? process.stderr : createWriteStream(config.logFile, { flags: 'a', mode: 0o600 }));
  const logger = createLogger(sink, config.logLevel, { pid: process.pid });
  for (const w of resolved.warnings) logger.warn(`config: ${w}`);

  let node: GoverseNode;
  const abort = new AbortController();
  const early = (): void => abort.abort();
  process.once('SIGTERM', early);
  process.once('SIGINT', early);
  try {
    node = await GoverseNode.start(config, logger, { explicitShards: explicitSource('numShards', resolved.sources) });
  } catch (err) {
    logger.error('goverse-node failed to start', { err });
    process.stderr.write(`goverse-node: failed to start: ${printable(describeError(err))}\n`);
    return err instanceof GoverseError && err.code === 'config' ? 2 : 1;
  }
  process.off('SIGTERM', early);
  process.off('SIGINT', early);
  if (abort.signal.aborted) {
    await node.stop();
    return 0;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        logger.error('second signal during shutdown; exiting now', { signal });
        resolve(1);
        return;
      }
      stopping = true;
      logger.info('stopping', { signal });
      node.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error('stop failed', { err });
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`goverse-node: ${printableLines(text)}\n`);
    process.exit(1);
  },
);
