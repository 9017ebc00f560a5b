import type { Command } from 'commander';
import { systemClock } from '../core/clock.js';
import { historyBoundsFromConfig } from '../core/history/bounds.js';
import { shardWriteRetryFromConfig } from '../core/config/shardWriteRetry.js';
import { counted } from '../core/text/plural.js';
import { type OperationRequest, planOperation, type Refusals } from '../core/operations/operations.js';
import { balancerOutlook } from '../core/operations/outlook.js';
import { ReadOnlyError } from '../core/operations/result.js';
import { plannerSettingsFromConfig } from '../core/planner/settings.js';
import type { ClusterSnapshot } from '../core/snapshot/snapshot.js';
import type { CommandContext } from './context.js';
import { ExitCode } from './exitCodes.js';
import { Output } from './output.js';
import { promptLine } from './prompt.js';
import { renderOperation } from './render.js';

/** The options every mutation has. */
export function withMutationOptions(cmd: Command): Command {
  return cmd
    .option('--dry-run', 'print the changes (key, old, new, ModRevision) without writing anything')
    .option('--confirm', 'print the changes and ask on the terminal before writing them');
}

/** What `--force` asks of a plan's refusals. */
export function refusals(options: Readonly<Record<string, unknown>>): Refusals {
  return options.force === true ? 'override' : 'refuse';
}

export interface MutationRun {
  readonly ctx: CommandContext;
  /** The command's input, decoded; planned against a fresh snapshot (InvalidArgumentError: exit 2, PreconditionError: exit 3). */
  readonly request: OperationRequest;
  readonly options: Readonly<Record<string, unknown>>;
  /** After the writes succeeded (drain --wait). */
  readonly after?: (snapshot: ClusterSnapshot) => Promise<number>;
}

/**
 * Plan against one consistent read, then write with compare-and-swap on each key's ModRevision. Read-only mode
 * refuses before etcd is touched (a dry run is always allowed); a dry run writes nothing.
 */
export async function runMutation(run: MutationRun): Promise<number> {
  const { ctx, options, request } = run;
  const dryRun = options.dryRun === true;
  if (ctx.config.readOnly && !dryRun) throw new ReadOnlyError(request.kind);
  // Loaded here: it brings etcd3 along, which commands that fail on their input never need.
  const { ClusterOperations } = await import('../edge/operations/clusterOperations.js');
  const { HistoryLog } = await import('../edge/history/historyLog.js');
  const snapshot = await ctx.snapshot();
  const now = Date.now();
  const plan = planOperation(request, { snapshot, now, by: ctx.actor, maxPauseMs: ctx.config.maxPause });
  // What the balancer would do next: shown with the plan, so an operator sees a reassign about to be undone.
  const outlook =
    request.kind === 'retarget'
      ? balancerOutlook(plan, { snapshot, strategy: ctx.config.rebalanceStrategy, settings: plannerSettingsFromConfig(ctx.config), now })
      : null;
  const client = await ctx.client();
  const history = new HistoryLog({ client, keys: ctx.keys, bounds: historyBoundsFromConfig(ctx.config), clock: systemClock, logger: ctx.logger });
  const operations = new ClusterOperations({
    client,
    keys: ctx.keys,
    readOnly: ctx.config.readOnly,
    stuckTimeoutMs: ctx.config.stuckTimeout,
    retry: shardWriteRetryFromConfig(ctx.config),
    logger: ctx.logger,
    history: { log: history, who: { actor: ctx.actor, source: 'cli' } },
  });
  const pending = plan.shardChanges.length + plan.recordChanges.length;
  if (options.confirm === true && !dryRun && pending > 0) {
    const preview = new Output(process.stderr, process.stderr, 'table', ctx.out.color);
    renderOperation(preview, await operations.execute(plan, { dryRun: true }), outlook);
    const answer = await promptLine(`apply ${counted(pending, 'change')}? [y/N] `);
    if (answer === null || !/^y(es)?$/i.test(answer.trim())) {
      ctx.out.note('cancelled; nothing written');
      return ExitCode.error;
    }
  }
  const result = await operations.execute(plan, { dryRun });
  const code = renderOperation(ctx.out, result, outlook);
  if (code !== ExitCode.ok || dryRun || run.after === undefined) return code;
  return run.after(snapshot);
}
