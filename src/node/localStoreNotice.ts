import { splitHostPort } from '../core/config/addresses.js';
import type { Logger } from '../core/log/logger.js';
import type { ClusterSnapshot } from '../core/snapshot/snapshot.js';

/**
 * A SQLite object store is one file per machine. Members that advertise another host than this node's are likely on
 * other machines, with files of their own: an object whose shard moves between them comes up without its state, and
 * nothing else says so. Logged as a warning at start and whenever a member appears on a host not named before.
 */
export class LocalStoreNotice {
  private readonly named = new Set<string>();
  private readonly ownHost: string;

  constructor(
    private readonly self: string,
    private readonly location: string,
    private readonly log: Logger,
  ) {
    this.ownHost = hostOf(self);
  }

  observe(snapshot: ClusterSnapshot): void {
    const fresh = new Map<string, string>();
    for (const address of snapshot.nodes.keys()) {
      const host = hostOf(address);
      if (address !== this.self && host !== this.ownHost && !this.named.has(host) && !fresh.has(host)) fresh.set(host, address);
    }
    if (fresh.size === 0) return;
    for (const host of fresh.keys()) this.named.add(host);
    this.log.warn(
      `object database ${this.location} is SQLite, one file per machine, but members advertise other hosts than this node's ${this.ownHost}: ` +
        'objects whose shards move between machines come up without their state',
      {
        db: this.location,
        members: [...fresh.values()],
        advice: 'keep the objects of a cluster that spans machines in PostgreSQL (postgres.host or --postgres-url; docs/PERSISTENCE.md)',
      },
    );
  }
}

function hostOf(address: string): string {
  return (splitHostPort(address)?.host ?? address).toLowerCase();
}
