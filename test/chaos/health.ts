/**
 * When the cluster counts as recovered (test/chaos/README.md, "Recovery"): the runner's watch is in step with etcd;
 * every running node is registered and serves every shard targeted at it (its /ready figures); every shard is owned
 * by a running node with TargetNode = CurrentNode (no migration in flight), except a pinned shard whose node is
 * down, frozen or stopping, which waits for that node by design; and calls succeed: a `get` on a few counters of
 * served shards answers within PROBE_TIMEOUT_MS.
 */
import { GoverseClient } from '../../src/client/client.js';
import { routeObject } from '../../src/client/route.js';
import { isPinned } from '../../src/core/keyspace/shardValue.js';
import { shardInLayout } from '../../src/core/snapshot/layout.js';
import type { ClusterSnapshot } from '../../src/core/snapshot/snapshot.js';
import type { EtcdClient } from '../../src/edge/etcd/client.js';
import type { ClusterWatcher } from '../../src/edge/etcd/watcher.js';
import type { ChaosCluster } from './cluster.js';
import { sleep } from './clients.js';

/** What a fault kind needs beyond health (see faults.ts): null when met, else what is missing. */
export type ExtraCondition = (snapshot: ClusterSnapshot) => string | null;

const POLL_MS = 150;
const PROBE_COUNTERS = 4;
const PROBE_TIMEOUT_MS = 1500;

export class Health {
  /** The watch must have reached this revision before a snapshot counts (see syncPoint). */
  private minRevision = 0;
  private readonly probes: GoverseClient;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly watcher: ClusterWatcher,
    private readonly client: EtcdClient,
    private readonly counters: readonly string[],
    private readonly random: () => number,
  ) {
    this.probes = new GoverseClient({ routing: () => watcher.snapshot, timeoutMs: PROBE_TIMEOUT_MS });
  }

  close(): Promise<void> {
    return this.probes.close();
  }

  /**
   * Polls until the cluster is healthy or `timeoutMs` passes. Returns the moment it was seen healthy (after the
   * check, so a recovery is never timed short), or null with the last problem.
   */
  async waitHealthy(timeoutMs: number, also?: ExtraCondition): Promise<{ at: number } | { at: null; problem: string }> {
    const deadline = Date.now() + timeoutMs;
    let synced = false;
    let problem = 'not checked yet';
    while (Date.now() < deadline) {
      // Whatever was written before the wait (an operation, a claim) must be in the snapshot judged.
      synced ||= await this.syncPoint();
      if (synced) {
        const p = (await this.problem()) ?? also?.(this.watcher.snapshot) ?? null;
        if (p === null) return { at: Date.now() };
        problem = p;
      } else {
        problem = 'etcd does not answer';
      }
      await sleep(POLL_MS);
    }
    return { at: null, problem };
  }

  /** Why the cluster is not healthy now, or null. */
  async problem(): Promise<string | null> {
    const snap = this.watcher.snapshot;
    if (this.watcher.status.kind !== 'synced') return `runner watch ${this.watcher.status.kind}`;
    if (snap.revision < this.minRevision) return `runner watch at revision ${snap.revision}, etcd at ${this.minRevision}`;
    const live = this.cluster.inState('running');
    const liveAddresses = new Set(live.map((n) => n.address));
    const waiting = new Set(this.cluster.inState('frozen', 'stopping', 'down').map((n) => n.address));
    for (const n of live) if (!snap.nodes.has(n.address)) return `${n.name} is not registered`;
    const unsettled: string[] = [];
    for (let id = 0; id < snap.numShards; id++) {
      const e = snap.shards[id];
      // A high shard whose pair is not split (a shard-count transition runs) has no key by design.
      if (e === undefined && !shardInLayout(snap, id)) continue;
      if (e === undefined) unsettled.push(`${id} (no key)`);
      else if (e.target === e.current && liveAddresses.has(e.current)) continue;
      else if (!(isPinned(e) && waiting.has(e.target))) unsettled.push(`${id} "${e.raw}"`);
    }
    if (unsettled.length > 0) return `${unsettled.length} shards not settled on running nodes: ${unsettled.slice(0, 3).join(', ')}`;
    const notReady = (await Promise.all(live.map(async (n) => ((await ready(n.test.opsUrl)) ? null : n.name)))).filter((x) => x !== null);
    if (notReady.length > 0) return `not serving all their shards: ${notReady.join(', ')}`;
    return this.probe(liveAddresses);
  }

  /** Reads etcd's current revision; false when etcd does not answer. */
  private async syncPoint(): Promise<boolean> {
    try {
      const { revision } = await this.client.rangePrefix(`${this.watcher.snapshot.prefix}/leader`, { timeoutMs: 1000 });
      this.minRevision = revision;
      return true;
    } catch {
      return false;
    }
  }

  private async probe(live: ReadonlySet<string>): Promise<string | null> {
    const snap = this.watcher.snapshot;
    const served = this.counters.filter((c) => {
      const route = routeObject(snap, c);
      return !(route instanceof Error) && live.has(route.node);
    });
    const sample = Array.from({ length: Math.min(PROBE_COUNTERS, served.length) }, () => served[Math.floor(this.random() * served.length)]!);
    const failures = await Promise.all(
      sample.map((c) =>
        this.probes.call('Counter', c, 'get').then(
          () => null,
          (err: unknown) => `probe get ${c} failed: ${err instanceof Error ? err.message : String(err)}`,
        ),
      ),
    );
    return failures.find((f) => f !== null) ?? null;
  }
}

async function ready(opsUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${opsUrl}/ready`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    const body = (await res.json()) as { registered?: boolean; etcd?: string; phase?: string; shards?: { claimed?: number; targeted?: number } };
    return body.registered === true && body.etcd === 'synced' && body.phase === 'running' && body.shards?.claimed === body.shards?.targeted;
  } catch {
    return false;
  }
}
