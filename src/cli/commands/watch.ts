import type { Command } from 'commander';
import { describeError } from '../../core/errors.js';
import { formatDuration, parseDuration } from '../../core/duration.js';
import { Sightings } from '../../core/planner/sightings.js';
import type { ClusterView, NodeMetrics } from '../../core/view/index.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exitCodes.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { action, withGlobalOptions } from '../command.js';
import { cell } from '../render.js';
import { statusDocument } from './status.js';

export function registerWatch(program: Command): void {
  const cmd = program
    .command('watch')
    .description('one status line per interval, like top -b (JSON: one document per line)')
    .option('-i, --interval <duration>', 'time between lines (default: --refresh, 2s)')
    .option('-n, --count <n>', 'stop after this many lines (default: until interrupted)');
  withGlobalOptions(cmd);
  action(cmd, (ctx, _args, options) => {
    const intervalMs = options.interval === undefined ? ctx.config.refresh : parseDuration(options.interval as string);
    if (!(intervalMs >= 100)) throw new InvalidArgumentError(`watch interval ${formatDuration(intervalMs)} is too short; at least 100ms`);
    const count = options.count === undefined ? null : Number(options.count);
    if (count !== null && !(Number.isSafeInteger(count) && count > 0)) {
      throw new InvalidArgumentError(`invalid --count ${JSON.stringify(options.count)}: expected a positive integer`);
    }
    return runWatch(ctx, intervalMs, count);
  });
}

const COLUMNS: readonly (readonly [string, number])[] = [
  ['TIME', 8],
  ['REV', 8],
  ['LEADER', 22],
  ['NODES', 6],
  ['OWNED', 11],
  ['MIGR', 5],
  ['UNCL', 5],
  ['ORPH', 5],
  ['STUCK', 5],
  ['PIN', 5],
  ['CALLS/S', 9],
  ['BALANCER', 0],
];

function row(cells: readonly string[]): string {
  return cells.map((c, i) => (COLUMNS[i]![1] === 0 ? c : c.padEnd(COLUMNS[i]![1]))).join(' ');
}

function line(view: ClusterView, at: Date): string {
  const c = view.counts;
  const rates = view.nodes.filter((n) => n.alive && n.callRate !== null);
  const calls = rates.length === 0 ? null : rates.reduce((s, n) => s + n.callRate!, 0);
  const b = view.balancer;
  return row([
    at.toTimeString().slice(0, 8),
    String(view.snapshot.revision),
    view.leader === null ? '-' : `${view.leader.address}${view.leader.alive ? '' : '!'}`,
    String(view.nodes.filter((n) => n.alive).length),
    `${c.owned}/${c.total}`,
    String(c.migrating),
    String(c.unclaimed),
    String(c.orphaned),
    String(c.stuck),
    String(c.pinned),
    cell(calls, 1),
    `${b.state}${b.pause === null ? '' : ' (paused)'}: ${b.reason}`,
  ]);
}

/**
 * The batch-mode loop: read, scrape, print, sleep. First sightings, the stability clock and the previous scrapes
 * carry over between lines, so ages, the balancer's state and call rates are those a watcher sees. A failed read
 * after the first prints a line and the loop goes on; Ctrl-C ends it with exit 0.
 */
export async function runWatch(ctx: CommandContext, intervalMs: number, count: number | null): Promise<number> {
  let stopped = false;
  let wake: (() => void) | null = null;
  const stop = (): void => {
    stopped = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let metrics: ReadonlyMap<string, NodeMetrics> = new Map();
  const sightings = new Sightings();
  let previous: ClusterView | undefined;
  try {
    if (ctx.out.format === 'table') ctx.out.line(row(COLUMNS.map(([name]) => name)));
    for (let i = 0; !stopped && (count === null || i < count); i++) {
      const started = Date.now();
      try {
        const snapshot = await ctx.snapshot();
        const now = Date.now();
        sightings.poll(snapshot, now);
        const scrapes = await ctx.scrape(snapshot, metrics);
        metrics = scrapes.metrics;
        const input = { metrics, firstSeen: sightings.firstSeen, unmatchedMetrics: scrapes.unmatched, ...(previous ? { previous } : {}) };
        const view = ctx.view(snapshot, input, sightings.stableSince);
        previous = view;
        if (ctx.out.format === 'json') ctx.out.jsonLine({ at: new Date(now).toISOString(), ...statusDocument(view) });
        else ctx.out.line(line(view, new Date(now)));
      } catch (err) {
        if (i === 0) throw err;
        if (ctx.out.format === 'json') ctx.out.jsonLine({ at: new Date().toISOString(), error: describeError(err) });
        else ctx.out.line(`${new Date().toTimeString().slice(0, 8)} ${describeError(err)}`);
      }
      if (count !== null && i + 1 >= count) break;
      const wait = Math.max(0, intervalMs - (Date.now() - started));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
    return ExitCode.ok;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
