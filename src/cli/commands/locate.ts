import type { Command } from 'commander';
import { parseShardValue } from '../../core/keyspace/shardValue.js';
import { parseObjectId, placeObject } from '../../core/sharding/objectId.js';
import { ExitCode } from '../exitCodes.js';
import { action, withGlobalOptions } from '../command.js';

export function registerLocate(program: Command): void {
  const cmd = program
    .command('locate <objectId>')
    .description("where an object lives: its ID format, its shard (or fixed node) and, from etcd, the shard's TargetNode and CurrentNode")
    .option('--offline', 'do not contact etcd: format and shard only');
  withGlobalOptions(cmd);
  action(cmd, async (ctx, [objectId], options) => {
    const id = objectId!;
    // Both throw InvalidObjectIdError (exit 2) saying why the ID is invalid.
    const placement = placeObject(id, ctx.config.numShards);
    const format = parseObjectId(id).format;
    const shard = placement.kind === 'shard' ? placement.shardId : null;
    const node = placement.kind === 'node' ? placement.node : null;
    let target: string | null = null;
    let current: string | null = null;
    let alive: boolean | null = null;
    if (options.offline !== true) {
      const { keys } = ctx;
      if (shard !== null) {
        const kv = await ctx.etcdRead(`shard ${shard}`, (client, o) => client.get(keys.shard(shard), o));
        // An absent key, or empty parts: no target or owner yet (null in JSON, as for unknown).
        const value = parseShardValue(kv?.value ?? '').value;
        target = value.target === '' ? null : value.target;
        const owner = value.current;
        current = owner === '' ? null : owner;
        alive = owner === '' ? false : (await ctx.etcdRead(`node ${owner}`, (client, o) => client.get(keys.node(owner), o))) !== null;
      } else {
        alive = (await ctx.etcdRead(`node ${node}`, (client, o) => client.get(keys.node(node!), o))) !== null;
      }
    }
    if (ctx.out.format === 'json') {
      ctx.out.json({ objectId: id, format, shard, node, target, current, alive, offline: options.offline === true });
      return ExitCode.ok;
    }
    ctx.out.line(`object   ${id}`);
    ctx.out.line(`format   ${format}`);
    if (shard !== null) ctx.out.line(`shard    ${shard}`);
    if (node !== null) ctx.out.line(`node     ${node}${alive === null ? '' : alive ? ' (alive)' : ' (not alive)'}`);
    if (options.offline !== true && shard !== null) {
      ctx.out.line(`target   ${target ?? '(none)'}`);
      ctx.out.line(`current  ${current ?? '(none)'}${current === null ? '' : alive ? ' (alive)' : ' (not alive)'}`);
    }
    return ExitCode.ok;
  });
}
