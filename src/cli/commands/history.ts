import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import type { HistoryEntry } from '../../core/history/entry.js';
import { entryJson, movesText, reasonText, shardsText } from '../../core/history/entryText.js';
import { type HistoryFilter, matchesHistory, parseActions, parseSince } from '../../core/history/filter.js';
import { parseShardRanges } from '../../core/history/shardRanges.js';
import { HistoryTimeline } from '../../core/history/timeline.js';
import { formatShardList, parseShardList } from '../../core/operations/shardList.js';
import { action, withGlobalOptions } from '../command.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exitCodes.js';

export function registerHistory(program: Command): void {
  const cmd = program
    .command('history')
    .description('the cluster history, oldest first: leader decisions, stuck episodes and operator actions (when, who, what, why)')
    .option('--since <when>', 'entries since a time ago (30m, 2h) or a time (2025-01-31, 2025-01-31T14:00:00Z)')
    .option('--shard <ids>', 'entries about any of these shards (5, 1,5,10-20)')
    .option('--node <address>', 'entries about this node: its drain, moves from or to it')
    .option('--actor <text>', 'entries whose actor contains this text (alice, @ops-1, a node address)')
    .option('--action <names>', 'entries of these actions, comma-separated (pin,drain,rebalance,skip,stuck,...)')
    .option('-f, --follow', 'then print new entries as they are written, until interrupted (JSON: one entry per line)');
  withGlobalOptions(cmd);
  action(cmd, (ctx, _args, options) => runHistory(ctx, historyFilter(options, ctx.config.numShards, Date.now()), options.follow === true));
}

/** The filter of the command's flags; bad input is an InvalidArgumentError (exit 2). */
export function historyFilter(options: Readonly<Record<string, unknown>>, numShards: number, now: number): HistoryFilter {
  const text = (name: string): string | undefined => {
    const v = options[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') throw new InvalidArgumentError(`--${name} needs a value`);
    return v;
  };
  const since = text('since');
  const shard = text('shard');
  const node = text('node');
  const actor = text('actor');
  const actions = text('action');
  return {
    ...(since === undefined ? {} : { since: parseSince(since, now) }),
    ...(shard === undefined ? {} : { shards: parseShardRanges(formatShardList(parseShardList(shard, numShards)))! }),
    ...(node === undefined ? {} : { node }),
    ...(actor === undefined ? {} : { actor }),
    ...(actions === undefined ? {} : { actions: parseActions(actions) }),
  };
}

const COLUMNS = ['TIME', 'ACTOR', 'ACTION', 'SHARDS', 'MOVES / NODE', 'OUTCOME', 'REASON'] as const;
/** Widths of the line format (`--follow`), the reason taking the rest. */
const WIDTHS = [20, 24, 9, 20, 36, 9, 0];

function cells(e: HistoryEntry): string[] {
  return [
    new Date(e.at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    e.actor,
    e.action,
    shardsText(e, WIDTHS[3]!),
    movesText(e, WIDTHS[4]!),
    e.outcome,
    reasonText(e),
  ];
}

function line(values: readonly string[]): string {
  return values.map((v, i) => (WIDTHS[i] === 0 ? v : v.length > WIDTHS[i]! ? `${v.slice(0, WIDTHS[i]! - 1)}…` : v.padEnd(WIDTHS[i]!))).join(' ');
}

/** Prints the history (oldest first) and, with `follow`, each new entry as the watch delivers it. */
export async function runHistory(ctx: CommandContext, filter: HistoryFilter, follow: boolean): Promise<number> {
  const { readHistory, HistoryFeed } = await import('../../edge/history/historyFeed.js');
  const list = await ctx.etcdRead('the history', (client, options) => readHistory(client, ctx.keys, options));
  const timeline = new HistoryTimeline(ctx.keys, Number.MAX_SAFE_INTEGER);
  timeline.apply({ kind: 'reset', kvs: list.kvs });
  const entries = timeline.entries.filter((e) => matchesHistory(e, filter));
  const malformed = [...timeline.malformed.values()];
  if (malformed.length > 0) ctx.out.note(`${malformed.length} malformed history entries ignored${ctx.out.format === 'json' ? '' : ' (listed by -o json)'}`);
  if (!follow) {
    if (ctx.out.format === 'json') {
      ctx.out.json({ entries: entries.map(entryJson), malformed: malformed.slice(0, 100), revision: list.revision });
    } else if (entries.length === 0) {
      ctx.out.line(`no history entries${timeline.entries.length === 0 ? '' : ` match (of ${timeline.entries.length})`}`);
    } else {
      ctx.out.table(COLUMNS, entries.map(cells));
    }
    return ExitCode.ok;
  }
  const print = (e: HistoryEntry): void => (ctx.out.format === 'json' ? ctx.out.jsonLine(entryJson(e)) : ctx.out.line(line(cells(e))));
  if (ctx.out.format === 'table') ctx.out.line(line([...COLUMNS]));
  entries.forEach(print);
  const feed = new HistoryFeed({
    client: await ctx.client(),
    keys: ctx.keys,
    logger: ctx.logger,
    onUpdate: (update) => {
      for (const e of timeline.apply(update)) if (matchesHistory(e, filter)) print(e);
    },
  });
  await feed.start(list);
  await untilInterrupted();
  await feed.stop();
  return ExitCode.ok;
}

function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
