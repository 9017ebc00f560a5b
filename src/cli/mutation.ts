import type { Command } from 'commander';
import type { OperationContext, OperationName, OperationPlan } from '../core/operations/operations.js';
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

export interface MutationRun {
  readonly ctx: CommandContext;
  readonly operation: OperationName;
  readonly options: Readonly<Record<string, unknown>>;
  /** The pure plan from a fresh snapshot; throws InvalidArgumentError (exit 2) or PreconditionError (exit 3). */
  readonly plan: (ctx: OperationContext) => OperationPlan;
  /** After the writes succeeded (drain --wait). */
  readonly after?: (snapshot: ClusterSnapshot) => Promise<number>;
}

/**
 * Plan against one consistent read, then write with compare-and-swap on each key's ModRevision. Read-only mode
 * refuses before etcd is touched (a dry run is always allowed); a dry run writes nothing.
 */
export async function runMutation(run: MutationRun): Promise<number> {
  const { ctx, options } = run;
  const dryRun = options.dryRun === true;
  // Loaded here: it brings etcd3 along, which commands that fail on their input never need.
  const { ClusterOperations, ReadOnlyError } = await import('../cluster/operations.js');
  if (ctx.config.readOnly && !dryRun) throw new ReadOnlyError(run.operation);
  const snapshot = await ctx.snapshot();
  const plan = run.plan({ snapshot, now: Date.now(), by: ctx.actor });
  const client = await ctx.client();
  const operations = new ClusterOperations({ client, prefix: ctx.config.etcdPrefix, readOnly: ctx.config.readOnly, logger: ctx.logger });
  const pending = plan.shardChanges.length + plan.recordChanges.length;
  if (options.confirm === true && !dryRun && pending > 0) {
    const preview = new Output(process.stderr, process.stderr, 'table', ctx.out.color);
    renderOperation(preview, await operations.execute(plan, { dryRun: true }));
    const answer = await promptLine(`apply ${pending} change(s)? [y/N] `);
    if (answer === null || !/^y(es)?$/i.test(answer.trim())) {
      ctx.out.note('cancelled; nothing written');
      return ExitCode.error;
    }
  }
  const result = await operations.execute(plan, { dryRun });
  const code = renderOperation(ctx.out, result);
  if (code !== ExitCode.ok || dryRun || run.after === undefined) return code;
  return run.after(snapshot);
}
