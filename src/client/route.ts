/**
 * Routing decisions (pure): which node serves an object, according to one cluster snapshot (its shard by the count in
 * force, or during a shard-count transition by the pair rule of docs/RESHARDING.md §4). A shard is served by
 * its CurrentNode (also while it migrates: the owner serves until it releases); a fixed-node ID (`<node>/<id>`)
 * by that node. Each TypeScript node publishes its API URL in `<prefix>/nodeinfo/<addr>`.
 */
import { placeInSnapshot } from '../core/snapshot/layout.js';
import type { ClusterSnapshot } from '../core/snapshot/snapshot.js';
import { NoRouteError } from './errors.js';

export interface Route {
  /** null for fixed-node objects. */
  readonly shard: number | null;
  readonly node: string;
  readonly apiUrl: string;
}

/**
 * The node to send a request for object `id` to, or a NoRouteError (retriable: the snapshot changes when a
 * migration completes or a node comes back) saying why there is none. Throws InvalidObjectIdError for invalid IDs.
 */
export function routeObject(snapshot: ClusterSnapshot, id: string): Route | NoRouteError {
  const placement = placeInSnapshot(snapshot, id);
  if (placement.kind === 'node') {
    const node = placement.node;
    if (!snapshot.nodes.has(node)) return new NoRouteError(`node ${node} of fixed-node object ${JSON.stringify(id)} is not alive`, null, node);
    return withApiUrl(snapshot, null, node);
  }
  const shard = placement.shardId;
  const entry = snapshot.shards[shard];
  if (entry === undefined || entry.current === '') {
    const why = entry === undefined || entry.target === '' ? 'not assigned yet' : `migrating to ${entry.target}`;
    return new NoRouteError(`shard ${shard} has no owner (${why})`, shard, entry?.target || null);
  }
  if (!snapshot.nodes.has(entry.current)) {
    return new NoRouteError(`owner ${entry.current} of shard ${shard} is not alive`, shard, entry.current);
  }
  return withApiUrl(snapshot, shard, entry.current);
}

function withApiUrl(snapshot: ClusterSnapshot, shard: number | null, node: string): Route | NoRouteError {
  const apiUrl = snapshot.nodeInfo.get(node)?.apiUrl ?? '';
  if (apiUrl === '') {
    return new NoRouteError(`node ${node} publishes no API URL in nodeinfo (not a goverse-node?)`, shard, node);
  }
  return { shard, node, apiUrl };
}
