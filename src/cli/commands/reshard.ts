/**
 * `goverse-top reshard --to N` and `reshard --abort` (docs/RESHARDING.md §5.1, §6): the plan of the next transition
 * (pairs, objects and shards that move, fixed-shard IDs a merge makes invalid), a confirmation, the CAS of the
 * shard-count record, and with `--wait` the progress of every transition up to N on stderr. The protocol itself runs
 * in the nodes; this command only writes the record and watches it.
 */
import type { Command } from 'commander';
import { formatDuration, parseDuration } from '../../core/duration.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { planOperation } from '../../core/operations/operations.js';
import { previewReshard, type ReshardPreview } from '../../core/operations/reshard.js';
import type { OperationResult } from '../../core/operations/result.js';
import { ReadOnlyError } from '../../core/operations/result.js';
import { reshardProgress } from '../../core/planner/reshard.js';
import { shardCountProblem } from '../../core/keyspace/shardCount.js';
import type { ClusterSnapshot } from '../../core/snapshot/snapshot.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exitCodes.js';
import { promptLine } from '../prompt.js';
import { renderOperation } from '../render.js';
import { Output } from '../output.js';
import { action, withGlobalOptions } from '../command.js';

const POLL_MS = 250;

export function registerReshard(program: Command): void {
  const cmd = program
    .command('reshard')
    .description('change the shard count of the live cluster (split to 2N, merge to N/2, repeated), or abort the change under way')
    .option('--to <count>', 'the shard count wanted: a power of two; a factor above 2 runs one doubling or halving after the other')
    .option('--abort', 'abort the transition under way: the pairs already done are undone, the count stays')
    .option('--dry-run', 'print the plan and write nothing')
    .option('--yes', 'do not ask for confirmation')
    .option('--wait', 'wait until the count is in force (every step), printing progress on stderr')
    .option('--wait-timeout <duration>', 'give up waiting after this long (exit 1; the transition goes on)', '10m');
  withGlobalOptions(cmd);
  action(cmd, (ctx, _args, options) => reshard(ctx, options));
}

type Outcome = 'dry-run' | 'started' | 'completed' | 'aborting' | 'aborted' | 'cancelled' | 'not-written' | 'timeout' | 'ended-elsewhere';

interface Request {
  readonly to: number | null;
  readonly dryRun: boolean;
  readonly yes: boolean;
  readonly waitMs: number | null;
}

/** Checks the flags before etcd is touched: exactly one of --to and --abort, a valid count and duration (exit 2). */
function request(options: Readonly<Record<string, unknown>>): Request {
  const abort = options.abort === true;
  const raw = options.to as string | undefined;
  if (abort === (raw !== undefined)) throw new InvalidArgumentError('reshard: give exactly one of --to <count> and --abort');
  let to: number | null = null;
  if (raw !== undefined) {
    if (!/^\d{1,8}$/.test(raw)) throw new InvalidArgumentError(`--to: "${raw}" is not a shard count`);
    to = Number(raw);
    const problem = shardCountProblem(to);
    if (problem !== null) throw new InvalidArgumentError(`--to: ${problem}`);
  }
  const waitMs = options.wait === true ? parseDuration(options.waitTimeout as string) : null;
  return { to, dryRun: options.dryRun === true, yes: options.yes === true, waitMs };
}

async function reshard(ctx: CommandContext, options: Readonly<Record<string, unknown>>): Promise<number> {
  const req = request(options);
  if (ctx.config.readOnly && !req.dryRun) throw new ReadOnlyError('reshard');
  const started = Date.now();
  const snapshot = await ctx.snapshot();
  // Refusals (a transition under way, upstream members, unassigned shards, pins apart) are PreconditionErrors: exit 3.
  const preview = req.to === null ? null : previewReshard(snapshot, req.to);
  const plan = req.to === null ? planOperation({ kind: 'reshard-abort' }, opContext(ctx, snapshot)) : planOperation({ kind: 'reshard', to: req.to }, opContext(ctx, snapshot));
  const report = (outcome: Outcome, count: number, result: OperationResult | null): void =>
    finish(ctx, { outcome, preview, count, result, elapsedMs: Date.now() - started, target: req.to ?? snapshot.layout.count });

  if (preview !== null && ctx.out.format !== 'json') describePlan(req.dryRun ? ctx.out : stderr(ctx), preview);
  if (req.dryRun) {
    report('dry-run', snapshot.layout.count, null);
    return ExitCode.ok;
  }
  if (!req.yes && plan.recordChanges.length > 0) {
    const answer = await promptLine(`${plan.summary}: start? [y/N] `);
    if (answer === null || !/^y(es)?$/i.test(answer.trim())) {
      ctx.out.note('cancelled; nothing written');
      report('cancelled', snapshot.layout.count, null);
      return ExitCode.error;
    }
  }
  const { ClusterOperations } = await import('../../edge/operations/clusterOperations.js');
  const operations = new ClusterOperations({ client: await ctx.client(), keys: ctx.keys, readOnly: ctx.config.readOnly, logger: ctx.logger });
  const result = await operations.execute(plan);
  if (ctx.out.format !== 'json') {
    const code = renderOperation(stderr(ctx), result);
    if (code !== ExitCode.ok) return code;
  } else if (result.conflicts > 0 || result.failed > 0) {
    report('not-written', snapshot.layout.count, result);
    return result.conflicts > 0 ? ExitCode.precondition : ExitCode.error;
  }
  if (req.waitMs === null) {
    if (preview !== null && preview.steps > 1) ctx.out.note(`step 1 of ${preview.steps}: run again once ${preview.to} shards are in force (or use --wait)`);
    report(req.to === null ? 'aborting' : 'started', snapshot.layout.count, result);
    return ExitCode.ok;
  }
  return waitAll(ctx, req, req.waitMs, started, (outcome, count) => report(outcome, count, result));
}

/**
 * Waits for each transition to end and starts the next one towards the target; progress lines on stderr. A transition
 * that ends short of where it was heading (aborted by another operator) ends the wait (exit 1).
 */
async function waitAll(ctx: CommandContext, req: Request, waitMs: number, started: number, report: (o: Outcome, count: number) => void): Promise<number> {
  const deadline = started + waitMs;
  let last = '';
  /** The count the transition last seen was heading for; initially the count the first step leaves behind. */
  let heading: number | null = null;
  let count = (await ctx.snapshot()).layout.count;
  const initial = count;
  for (;;) {
    const snap = await ctx.snapshot();
    const p = reshardProgress(snap);
    count = snap.layout.count;
    if (p !== null) {
      heading = p.state === 'running' ? p.to : p.from;
      const line = `${p.state === 'aborting' ? 'aborting ' : ''}${p.kind} ${p.from} -> ${p.to}: ${p.done}/${p.pairs} pairs ${p.goal === 'split' ? 'split' : 'merged'}`;
      if (line !== last) ctx.out.note(line);
      last = line;
    } else if (req.to === null) {
      report('aborted', count);
      return ExitCode.ok;
    } else if (count === req.to) {
      report('completed', count);
      return ExitCode.ok;
    } else if ((heading !== null && count !== heading) || (heading === null && count === initial)) {
      ctx.out.note(`reshard: the transition ended at ${count} shards (aborted?); not going on`);
      report('ended-elsewhere', count);
      return ExitCode.error;
    } else {
      const next = planOperation({ kind: 'reshard', to: req.to }, opContext(ctx, snap));
      const { ClusterOperations } = await import('../../edge/operations/clusterOperations.js');
      const result = await new ClusterOperations({ client: await ctx.client(), keys: ctx.keys, logger: ctx.logger }).execute(next);
      if (result.conflicts > 0 || result.failed > 0) {
        ctx.out.note(`could not start the next step (${next.summary}): ${result.conflicts > 0 ? 'the record changed meanwhile' : 'the write failed'}`);
        report('ended-elsewhere', count);
        return result.conflicts > 0 ? ExitCode.precondition : ExitCode.error;
      }
      ctx.out.note(`${next.summary}: started`);
      heading = null;
    }
    if (Date.now() >= deadline) {
      ctx.out.note(`reshard: not done after ${formatDuration(waitMs)}; the transition goes on (reshard --abort stops it)`);
      report('timeout', count);
      return ExitCode.error;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function opContext(ctx: CommandContext, snapshot: ClusterSnapshot): { snapshot: ClusterSnapshot; now: number; by: string } {
  return { snapshot, now: Date.now(), by: ctx.actor };
}

function stderr(ctx: CommandContext): Output {
  return new Output(process.stderr, process.stderr, 'table', ctx.out.color);
}

function describePlan(out: Output, p: ReshardPreview): void {
  const step = p.steps > 1 ? ` (step 1 of ${p.steps} towards ${p.target})` : '';
  out.line(`${p.kind} ${p.from} -> ${p.to} shards${step}`);
  out.line(`  pairs: ${p.pairs} (${p.kind === 'split' ? 'shards created' : 'shards removed'}: ${p.pairs})`);
  out.line(`  objects changing shard: ${p.objectsMoving === null ? 'unknown (no load reports)' : `about ${p.objectsMoving}`}`);
  if (p.kind === 'merge') out.line(`  shards moving to the other node of their pair first: ${p.colocations}`);
  if (p.invalidFixedShards !== null) {
    out.line(`  fixed-shard IDs shard#${p.invalidFixedShards.from}..${p.invalidFixedShards.to - 1}/* become invalid (their state stays stored)`);
  }
}

interface Final {
  readonly outcome: Outcome;
  readonly preview: ReshardPreview | null;
  readonly target: number;
  readonly count: number;
  readonly result: OperationResult | null;
  readonly elapsedMs: number;
}

/** The JSON result on stdout (`-o json`), or one summary line. */
function finish(ctx: CommandContext, f: Final): void {
  if (ctx.out.format === 'json') {
    ctx.out.json({
      operation: f.preview === null ? 'reshard-abort' : 'reshard',
      outcome: f.outcome,
      dryRun: f.outcome === 'dry-run',
      target: f.target,
      count: f.count,
      plan: f.preview,
      changes: f.result?.changes ?? [],
      elapsedMs: f.elapsedMs,
    });
  } else if (f.outcome !== 'dry-run' && f.outcome !== 'cancelled') {
    ctx.out.line(`reshard ${f.outcome}: ${f.count} shards in force${f.outcome === 'completed' || f.outcome === 'aborted' ? ` after ${formatDuration(Math.round(f.elapsedMs / 100) * 100)}` : ''}`);
  } else if (f.outcome === 'dry-run') {
    ctx.out.line('(dry run: nothing written)');
  }
}
