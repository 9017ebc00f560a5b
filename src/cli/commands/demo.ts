import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import type { DemoCluster } from '../demo/demoCluster.js';
import { ExitCode } from '../exitCodes.js';
import { action, withGlobalOptions } from '../command.js';
import { openConsole } from './top.js';
import { runWatch } from './watch.js';

function positive(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`invalid --${name} ${JSON.stringify(text)}: expected an integer from 1 to ${max}`);
  return n;
}

export function registerDemo(program: Command): void {
  const cmd = program
    .command('demo')
    .description('start a private etcd, goverse-node processes and a skewed load, then open the console; Ctrl-C stops everything')
    .option('--nodes <n>', 'goverse-node processes', '3')
    .option('--shards <n>', 'number of shards', '512')
    .option('--store <store>', 'where the nodes keep their objects: sqlite (one file) or postgres (a private PostgreSQL server)', 'sqlite')
    .option('--no-tui', 'print the GOVERSE_* settings for other subcommands and keep running instead of opening the console');
  withGlobalOptions(cmd);
  action(cmd, async (ctx, _args, options) => {
    const nodes = positive('nodes', options.nodes as string, 32);
    const shards = positive('shards', options.shards as string, 65536);
    const store = options.store as string;
    if (store !== 'sqlite' && store !== 'postgres') throw new InvalidArgumentError(`invalid --store ${JSON.stringify(store)}: expected sqlite or postgres`);
    const started = Date.now();
    const { DemoCluster } = await import('../demo/demoCluster.js');
    // Signals are caught from the start: a Ctrl-C during start-up must not leave half a cluster running.
    const abort = new AbortController();
    let demo: DemoCluster | null = null;
    let stopping: Promise<void> | null = null;
    const shutdown = (signal: string): void => {
      if (abort.signal.aborted) {
        demo?.killNow();
        process.exit(ExitCode.error);
      }
      abort.abort();
      if (demo === null) return ctx.out.note(`demo: ${signal} during start-up: stopping what was started`);
      ctx.out.note(`demo: ${signal}: stopping every process it started and removing ${demo.dir}`);
      stopping = demo.stop().then(() => process.exit(ExitCode.ok));
    };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => {
      const handler = (): void => shutdown(signal);
      process.on(signal, handler);
      return [signal, handler] as const;
    });
    try {
      try {
        demo = await DemoCluster.start({ nodes, shards, store, note: (t) => ctx.out.note(t), signal: abort.signal });
      } catch (err) {
        // start() has stopped everything it started.
        if (abort.signal.aborted) return ExitCode.ok;
        throw err;
      }
      if (options.tui === false) {
        ctx.out.line(`GOVERSE_ETCD_ENDPOINTS=${demo.endpoint}`);
        ctx.out.line(`GOVERSE_ETCD_PREFIX=${demo.keys.prefix}`);
        ctx.out.line(`GOVERSE_NUM_SHARDS=${shards}`);
        await reportConvergence(demo, started, (t) => ctx.out.note(t));
        // Runs until a signal: shutdown() exits the process.
        await new Promise<never>(() => undefined);
      }
      const cluster = ctx.withConfig({ etcdEndpoints: [demo.endpoint], etcdPrefix: demo.keys.prefix, numShards: shards });
      // Piped or redirected: the console needs a terminal, so the demo shows `watch` lines instead.
      const code = process.stdout.isTTY === true ? await openConsole(cluster) : await runWatch(cluster, cluster.config.refresh, null);
      await (stopping ?? demo.stop());
      return code;
    } finally {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    }
  });
}

/** Progress until every shard is owned (stderr), so a newcomer sees the cluster settle. */
async function reportConvergence(demo: DemoCluster, started: number, note: (text: string) => void): Promise<void> {
  let last = -1;
  for (;;) {
    const owned = await demo.ownedShards().catch(() => last);
    if (owned !== last) note(`demo: ${owned}/${demo.numShards} shards owned after ${((Date.now() - started) / 1000).toFixed(1)}s`);
    last = owned;
    if (owned === demo.numShards) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
