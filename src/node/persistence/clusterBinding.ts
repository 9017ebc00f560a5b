import { SETTINGS } from '../../core/config/settings.js';
import { ConfigError } from '../../core/errors.js';

/**
 * Which cluster an object store belongs to. Rows carry no cluster, so two clusters sharing one store would read and
 * fence each other's objects (same type and ID); the store therefore records its cluster's identity, the etcd
 * prefix (not etcd's cluster ID, which changes when etcd is restored from a snapshot), and refuses another's nodes.
 *
 * `recorded`: the store had no cluster and now has this one. `matched`: it already had it. `adopted`: it had
 * `from`, named by the operator as the cluster to take the store over from, and now has this one.
 */
export type ClusterBinding =
  | { readonly kind: 'recorded' }
  | { readonly kind: 'matched' }
  | { readonly kind: 'adopted'; readonly from: string };

/** The flag that moves a store to another cluster, named in the refusal. */
const ADOPT_FLAG = SETTINGS.dbAdoptCluster.flag!;

/** The store belongs to another cluster than the node's (exit 2 at start-up). */
export class ClusterMismatchError extends ConfigError {
  constructor(
    readonly location: string,
    readonly recorded: string,
    readonly cluster: string,
    readonly adoptFrom: string | undefined,
  ) {
    const advice =
      adoptFrom === undefined
        ? `point the node at this cluster's own database, or move this one to ${cluster} deliberately with ${ADOPT_FLAG} ${recorded}`
        : `${ADOPT_FLAG} names ${adoptFrom}, so the database is not taken over`;
    super(`object database ${location}`, `belongs to cluster ${recorded}, not to this node's cluster ${cluster}; ${advice}`);
  }
}

/**
 * The binding a store makes, given the cluster it has recorded (null: none yet); throws ClusterMismatchError when it
 * belongs to another cluster that `adoptFrom` does not name. Every store applies it in one transaction with the
 * write of the new identity, so concurrent first starts of two clusters cannot both win.
 */
export function clusterBinding(location: string, recorded: string | null, cluster: string, adoptFrom?: string): ClusterBinding {
  if (recorded === null) return { kind: 'recorded' };
  if (recorded === cluster) return { kind: 'matched' };
  if (adoptFrom === recorded) return { kind: 'adopted', from: recorded };
  throw new ClusterMismatchError(location, recorded, cluster, adoptFrom);
}
