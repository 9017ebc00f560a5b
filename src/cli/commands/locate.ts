import type { Command } from 'commander';
import { emptySnapshot } from '../../core/snapshot/snapshot.js';
import { type LocateAnswer, locateObject } from '../../core/view/index.js';
import { ExitCode } from '../exitCodes.js';
import { action, withGlobalOptions } from '../command.js';
import type { Output } from '../output.js';

/** The shard's TargetNode and CurrentNode as etcd holds them (null: empty or unknown), and whether the owner is alive. */
interface Custody {
  readonly target: string | null;
  readonly current: string | null;
  readonly alive: boolean | null;
}

export function registerLocate(program: Command): void {
  const cmd = program
    .command('locate <objectId>')
    .description(
      "where an object lives: its ID format, its shard under the count in force (both counts and the one serving during a shard-count change) or fixed node, and the shard's TargetNode and CurrentNode",
    )
    .option('--offline', 'do not contact etcd: format and shard under the configured count only');
  withGlobalOptions(cmd);
  action(cmd, async (ctx, [objectId], options) => {
    const id = objectId!;
    const offline = options.offline === true;
    // Online, the cluster's record decides the count and a transition's high keys which shard serves.
    const snapshot = offline ? emptySnapshot(ctx.config.etcdPrefix, ctx.config.numShards) : await ctx.snapshot();
    // Throws InvalidObjectIdError (exit 2) saying why the ID is invalid.
    const answer = locateObject(snapshot, id);
    let custody: Custody = { target: null, current: null, alive: null };
    if (!offline) {
      if (answer.shard !== null) {
        const entry = snapshot.shards[answer.shard];
        const current = entry === undefined || entry.current === '' ? null : entry.current;
        custody = { target: entry === undefined || entry.target === '' ? null : entry.target, current, alive: current !== null && snapshot.nodes.has(current) };
      } else {
        custody = { ...custody, alive: snapshot.nodes.has(answer.node!) };
      }
    }
    if (ctx.out.format === 'json') {
      ctx.out.json({ ...answer, ...custody, offline });
      return ExitCode.ok;
    }
    printLocation(ctx.out, answer, custody, offline);
    return ExitCode.ok;
  });
}

function printLocation(out: Output, a: LocateAnswer, c: Custody, offline: boolean): void {
  out.line(`object   ${a.objectId}`);
  out.line(`format   ${a.format}`);
  if (a.node !== null) {
    out.line(`node     ${a.node}${c.alive === null ? '' : c.alive ? ' (alive)' : ' (not alive)'}`);
    return;
  }
  const t = a.transition;
  out.line(`count    ${t === null ? a.count : `${t.from} -> ${t.to} (${t.kind} ${t.state})`}`);
  if (t === null) out.line(`shard    ${a.shard}`);
  else {
    const serving = t.serving === 'both' ? 'the same shard under both counts' : `the shard under ${t.serving === 'from' ? t.from : t.to} serves now`;
    out.line(`shard    ${a.shard} (under ${t.from}: ${t.shardFrom}, under ${t.to}: ${t.shardTo}; ${serving})`);
  }
  if (offline) return;
  out.line(`target   ${c.target ?? '(none)'}`);
  out.line(`current  ${c.current ?? '(none)'}${c.current === null ? '' : c.alive ? ' (alive)' : ' (not alive)'}`);
}
