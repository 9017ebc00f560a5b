/**
 * Mixed clusters: upstream Goverse nodes (the counter sample), an upstream gate and goverse-node processes under one
 * prefix of one etcd, 64 shards, in both leader directions. Each scenario (graceful stop and kill -9 on each side, a
 * kill in the middle of a migration) must end with every shard owned by a running node, no malformed entry, no stuck
 * verdict (from goverse-top or from a leader of ours), no migration record that outlives its migration by more than
 * the stuck timeout, and no error-level line in upstream's logs but those listed with their reason. Shard custody is shared; object calls are not (upstream calls over gRPC, goverse-node serves
 * HTTP/JSON): status and the nodes' logs say so, and the gate's creations in goverse-node's shards fail.
 * Without the upstream kit the suite reports itself skipped, with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fnv1a32 } from '../../../src/core/sharding/hash.js';
import type { ClusterSnapshot } from '../../../src/core/snapshot/snapshot.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { expectRecordsBounded, waitEndedRecordsGone } from '../../harness/migrationRecords.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { owners, waitOwned } from '../../harness/ownership.js';
import { uniquePrefix } from '../../harness/prefix.js';
import { type ExpectedLogLine, locateUpstreamKit, UPSTREAM_LEASE_TTL_MS, UpstreamCluster, type UpstreamNode, upstreamBinaries } from '../../harness/upstream.js';
import { waitFor } from '../../harness/waitFor.js';
import { type CliResult, json, runCli } from '../cli/cliRunner.js';

const SHARDS = 64;
/**
 * goverse-node beside upstream nodes: upstream claims on a fixed 5 s tick and its leader moves one shard per tick, so
 * our stuck timeout is set well past that (a move to an upstream node is not stuck after 5 s); the harness's short
 * lease (3 s) keeps our kills quick. Upstream's lease is a fixed 15 s.
 */
const STUCK_TIMEOUT_MS = 45_000;
const OUR_ENV: Readonly<Record<string, string>> = {
  GOVERSE_STABILITY_DURATION: '1s',
  GOVERSE_STUCK_TIMEOUT: `${STUCK_TIMEOUT_MS}ms`,
  GOVERSE_REBALANCE_BATCH_SIZE: '16',
};
/** Kills wait for upstream's 15 s lease, then a stable period and two of its 5 s ticks (reassign, then claim). */
const SETTLE_MS = UPSTREAM_LEASE_TTL_MS + 45_000;

const kit = locateUpstreamKit();
if (!kit.available) process.stderr.write(`mixed-cluster interop suite skipped: ${kit.reason}\n`);

// The first build of the upstream binaries downloads a Go toolchain: minutes, once per machine.
beforeAll(async () => {
  if (kit.available) await upstreamBinaries(kit);
}, 15 * 60_000);

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Error-level lines upstream writes in a mixed cluster whatever the scenario, with their reason. */
function mixedClusterErrors(ours: readonly TestNode[]): ExpectedLogLine[] {
  return ours.map((n) => ({
    pattern: new RegExp(`\\[Gate\\] Failed to call RegisterGate on node ${escape(n.address)}: .*http2: frame too large`),
    reason: `the gate registers with every node over gRPC; goverse-node ${n.address} serves HTTP/JSON, so each attempt fails (every 5 s)`,
  }));
}

/** A killed node stays registered until its lease runs out; the gate dials it meanwhile, in vain. */
function killedNodeErrors(address: string, why: string): ExpectedLogLine[] {
  return [{ pattern: new RegExp(`\\[Gate\\] Failed to call RegisterGate on node ${escape(address)}: .*connect: connection refused`), reason: why }];
}

/** One mixed cluster: both harnesses on one etcd and prefix, and goverse-top pointed at it. */
class Mixed {
  readonly expected: ExpectedLogLine[] = [];
  /** Records of ended migrations the checks found still there (bounded by their leases), all scenarios together. */
  endedRecordsSeen = 0;

  constructor(
    readonly etcd: EtcdCluster,
    readonly up: UpstreamCluster,
    readonly ours: NodeCluster,
  ) {}

  get env(): Record<string, string> {
    return {
      GOVERSE_ETCD_ENDPOINTS: this.etcd.endpoints.join(','),
      GOVERSE_ETCD_PREFIX: this.up.prefix,
      GOVERSE_NUM_SHARDS: String(SHARDS),
      GOVERSE_ETCD_TIMEOUT: '10s',
      GOVERSE_STUCK_TIMEOUT: `${STUCK_TIMEOUT_MS}ms`,
    };
  }

  cli(...args: string[]): Promise<CliResult> {
    return runCli([...args, '--config', this.up.configFile], this.env);
  }

  running(): string[] {
    return [...this.up.nodes.filter((n) => n.running), ...this.ours.nodes.filter((n) => n.running)].map((n) => n.address);
  }

  snapshot(): Promise<ClusterSnapshot> {
    return this.up.snapshot();
  }

  /** Every shard owned (Target == Current) by a running node of either kind. */
  settle(timeoutMs = SETTLE_MS): Promise<ClusterSnapshot> {
    return waitOwned(() => this.snapshot(), new Set(this.running()), { timeoutMs });
  }

  /**
   * After a scenario: settled, nothing malformed, no stuck verdict, no record beyond its bound, no unexpected error in
   * upstream's logs.
   */
  async check(timeoutMs = SETTLE_MS): Promise<ClusterSnapshot> {
    const snap = await this.settle(timeoutMs);
    const status = await this.cli('status', '-o', 'json');
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(json(status)).toMatchObject({ malformed: 0, shards: { total: SHARDS, owned: SHARDS, stuck: 0, orphaned: 0 } });
    const stuck = await this.cli('stuck', '-o', 'json');
    expect(stuck.code, stuck.stdout + stuck.stderr).toBe(0);
    expect(json(stuck)).toMatchObject({ stuck: [] });
    // Nor did a leader of ours call anything stuck: no move here lasts the stuck timeout.
    for (const n of this.ours.nodes) expect(n.log(), `${n.address}'s log`).not.toContain('"msg":"stuck migration"');
    expect(this.up.errorLines([...mixedClusterErrors(this.ours.nodes), ...this.expected]), 'unexpected error-level lines in upstream logs').toEqual([]);
    this.endedRecordsSeen += (await expectRecordsBounded(() => this.snapshot(), this.etcd.endpoints[0]!, STUCK_TIMEOUT_MS)).length;
    return snap;
  }

  /**
   * A move that keeps the balance (so no leader moves the shard elsewhere meanwhile): one shard of the candidate
   * with the most shards, to the candidate with the fewest.
   */
  async balancedMove<F extends { address: string }, T extends { address: string }>(
    fromCandidates: readonly F[],
    toCandidates: readonly T[],
  ): Promise<{ from: F; to: T; shard: number }> {
    const snap = await this.snapshot();
    const counts = owners(snap);
    const by = <N extends { address: string }>(nodes: readonly N[], sign: number): N =>
      [...nodes].sort((a, b) => sign * ((counts.get(a.address) ?? 0) - (counts.get(b.address) ?? 0)))[0]!;
    const from = by(fromCandidates, -1);
    const to = by(toCandidates, 1);
    const shard = snap.shards.find((e) => e?.current === from.address && e.target === from.address)?.id;
    expect(shard, `a shard of ${from.address}`).toBeDefined();
    return { from, to, shard: shard! };
  }

  /** kill -9 of `node`, whose dials the gate logs until its lease runs out (`why`), then the checks; every shard on `survivors`. */
  async killAndCheck(node: { address: string; kill(): Promise<unknown> }, why: string, survivors: readonly string[]): Promise<void> {
    await node.kill();
    this.expected.push(...killedNodeErrors(node.address, why));
    const snap = await this.check();
    expect([...owners(snap).keys()].sort()).toEqual([...survivors].sort());
  }

  async close(): Promise<void> {
    await this.ours?.close();
    await this.up?.close();
    await this.etcd.close();
  }
}

function ok(r: CliResult): CliResult {
  expect(r.code, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
  return r;
}

interface StatusUpstream {
  upstream: { nodes: number; gates: number; leader: string | null; unreachableShards: number; unreachableOwners: string[] };
}

/** The shards are on their way to `to`, not there yet (upstream claims on its 5 s tick; its old owner releases on it). */
async function expectMigrating(m: Mixed, ids: readonly number[], to: string): Promise<void> {
  const snap = await m.snapshot();
  for (const id of ids) expect(snap.shards[id], `shard ${id}`).toMatchObject({ target: to, current: expect.not.stringMatching(`^${escape(to)}$`) });
}

const WARNING = 'this node holds shards in a cluster with upstream Goverse gates or nodes: their object calls cannot reach it';

/** What status says about upstream callers, against etcd: the shards goverse-nodes own. */
async function expectUnreachableTold(m: Mixed, leader: string | null): Promise<void> {
  const snap = await m.snapshot();
  const counts = owners(snap);
  const oursOwning = m.ours.nodes.filter((n) => n.running && (counts.get(n.address) ?? 0) > 0);
  const doc = json<StatusUpstream>(ok(await m.cli('status', '-o', 'json')));
  expect(doc.upstream).toEqual({
    nodes: m.up.nodes.filter((n) => n.running).length,
    gates: m.up.gates.filter((g) => g.running).length,
    leader,
    unreachableShards: oursOwning.reduce((sum, n) => sum + counts.get(n.address)!, 0),
    unreachableOwners: oursOwning.map((n) => n.address).sort(),
  });
  expect(ok(await m.cli('status')).stdout).toMatch(/upstream +\d+ upstream nodes, 1 gate.*; \d+ shards owned by goverse-nodes are unreachable from upstream callers/);
  // Each goverse-node holding shards says so in its log.
  for (const n of oursOwning) await waitFor(`${n.address} to warn about upstream callers`, () => n.log().includes(WARNING), { timeoutMs: 10_000, intervalMs: 100 });
}

describe.skipIf(!kit.available)(`a mixed cluster led by an upstream node${kit.available ? '' : ` (skipped: ${kit.reason})`}`, () => {
  let m: Mixed;
  let u0: UpstreamNode;

  beforeAll(async () => {
    const etcd = await startEtcd('mixed-up');
    const prefix = uniquePrefix('mixed-up');
    // Upstream's leader waits for 3 s of stable membership, so that its first assignment spreads the shards over
    // every member below: with 64 shards it would then rebalance one shard per 5 s tick.
    const up = await UpstreamCluster.start({ etcd, prefix, nodes: 0, gates: 0, numShards: SHARDS, stabilityMs: 3000, label: 'mixed-up' });
    u0 = (await up.addNodes(1))[0]!;
    // u0 leads: the key written as upstream's own election writes it (a compare on the empty key), before anyone of
    // ours could, so the direction is certain.
    const won = await up.client.txn({ compares: [{ key: `${prefix}/leader`, modRevision: 0 }], success: [{ type: 'put', key: `${prefix}/leader`, value: u0.address }] });
    expect(won.succeeded).toBe(true);
    const [ours] = await Promise.all([
      NodeCluster.start({ etcd, prefix, nodes: 2, numShards: SHARDS, env: OUR_ENV, label: 'mixed-up-ours' }),
      up.addNodes(2),
      up.addGate(),
    ]);
    m = new Mixed(etcd, up, ours);
  }, 120_000);

  afterAll(async () => {
    await m?.close();
  });

  it('shares shard custody over both implementations; status and goverse-node tell that upstream calls cannot reach goverse-node', async () => {
    const snap = await m.check(60_000);
    expect(snap.leader?.address).toBe(u0.address);
    const counts = owners(snap);
    for (const address of m.running()) expect(counts.get(address) ?? 0, `shards of ${address}`).toBeGreaterThan(0);
    await expectUnreachableTold(m, u0.address);

    // Objects through the gate: those in upstream nodes' shards are created, those in goverse-node's shards are not.
    await m.up.waitGatesReady(30_000);
    const gate = m.up.gate().client();
    const ourAddresses = new Set(m.ours.nodes.map((n) => n.address));
    const ids = Array.from({ length: 12 }, (_, i) => `Counter-mixed-${i}`);
    const onOurs = ids.filter((id) => ourAddresses.has(snap.shards[fnv1a32(id) % SHARDS]!.current));
    expect(onOurs.length).toBeGreaterThan(0);
    m.expected.push({
      pattern: new RegExp(`\\[Cluster\\] .* - CreateObject (${onOurs.map(escape).join('|')}) failed on remote node: .*http2: frame too large`),
      reason: `objects ${onOurs.join(', ')} hash to shards goverse-node owns; the gate's CreateObject to it over gRPC fails`,
    });
    try {
      for (const id of ids) {
        if (onOurs.includes(id)) await expect(gate.create('Counter', id)).rejects.toMatchObject({ code: 'CREATE_FAILED' });
        else await expect(gate.create('Counter', id)).resolves.toBeUndefined();
      }
    } finally {
      gate.close();
    }
    expect(m.up.errorLines([...mixedClusterErrors(m.ours.nodes), ...m.expected])).toEqual([]);
  });

  it('kill -9 of a goverse-node in the middle of a migration to it: upstream gives its shards new targets', async () => {
    const { from, to: victim, shard } = await m.balancedMove(
      m.up.nodes.filter((n) => n !== u0),
      m.ours.nodes,
    );
    // The upstream owner, frozen, cannot release: the move stays in flight until the kill.
    from.freeze();
    try {
      ok(await m.cli('reassign', String(shard), '--to', victim.address));
      await expectMigrating(m, [shard], victim.address);
      await victim.kill();
    } finally {
      from.thaw();
    }
    m.expected.push(...killedNodeErrors(victim.address, 'goverse-node was killed; the gate dials it until its lease (3 s) runs out'));
    const snap = await m.check();
    expect(owners(snap).get(victim.address)).toBeUndefined();
  });

  it('graceful stop of a goverse-node: it hands its shards to upstream nodes, which claim them', async () => {
    const g1 = m.ours.nodes.find((n) => n.running)!;
    expect((await g1.stop(30_000)).code).toBe(0);
    expect(g1.log()).not.toContain('shutdown timeout');
    await m.check();
  });

  it('graceful stop of an upstream node: the upstream leader gives its shards new targets', async () => {
    const u1 = m.up.node(1);
    await u1.stop();
    await m.check();
  });

  it('kill -9 of an upstream node: its shards are owned again once its lease runs out', async () => {
    await m.killAndCheck(m.up.node(2), 'upstream node killed with SIGKILL; the gate dials it until its lease (15 s) runs out', [u0.address]);
  });

  it('leaves no migration record beyond its bound under an upstream leader: those of completed moves expire', async () => {
    // reassign's and the graceful stop's records, for moves upstream nodes completed: nothing of ours collects them.
    expect(m.endedRecordsSeen).toBeGreaterThan(0);
    await waitEndedRecordsGone(() => m.snapshot(), STUCK_TIMEOUT_MS);
    expect((await m.snapshot()).migrations.size).toBe(0);
  });
});

describe.skipIf(!kit.available)(`a mixed cluster led by goverse-node${kit.available ? '' : ` (skipped: ${kit.reason})`}`, () => {
  let m: Mixed;
  let g0: TestNode;

  beforeAll(async () => {
    const etcd = await startEtcd('mixed-ours');
    const prefix = uniquePrefix('mixed-ours');
    const ours = await NodeCluster.start({ etcd, prefix, nodes: 1, numShards: SHARDS, env: OUR_ENV, label: 'mixed-ours' });
    g0 = ours.node(0);
    await waitFor('goverse-node to lead', async () => (await ours.client.get(`${prefix}/leader`))?.value === g0.address, { timeoutMs: 20_000, intervalMs: 50 });
    const [up] = await Promise.all([
      UpstreamCluster.start({ etcd, prefix, nodes: 2, gates: 1, numShards: SHARDS, stabilityMs: 1000, label: 'mixed-ours-up' }),
      ours.addNodes(2, OUR_ENV),
    ]);
    m = new Mixed(etcd, up, ours);
  }, 120_000);

  afterAll(async () => {
    await m?.close();
  });

  it('balances over both implementations; status and goverse-node tell that upstream calls cannot reach goverse-node', async () => {
    // Our leader moves shards onto the upstream nodes, which claim them on their 5 s tick.
    await waitFor(
      'every node of both kinds to own shards',
      async () => {
        const snap = await m.settle();
        const counts = owners(snap);
        return m.running().every((a) => (counts.get(a) ?? 0) > 0);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const snap = await m.check();
    expect(snap.leader?.address).toBe(g0.address);
    await expectUnreachableTold(m, null);
    // Our leader is done rebalancing, so the moves below are the only ones.
    await waitFor('our leader to call the cluster balanced', async () => json<{ balancer: { state: string } }>(ok(await m.cli('status', '-o', 'json'))).balancer.state === 'balanced', {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
  });

  it('kill -9 of an upstream node in the middle of a migration to it: our leader gives its shards new targets', async () => {
    const { to: victim, shard } = await m.balancedMove(m.ours.nodes, m.up.nodes);
    // Frozen, the upstream target cannot claim: the move (released at once by ours) stays in flight until the kill.
    victim.freeze();
    try {
      ok(await m.cli('reassign', String(shard), '--to', victim.address));
      await expectMigrating(m, [shard], victim.address);
    } finally {
      await victim.kill();
    }
    m.expected.push(...killedNodeErrors(victim.address, 'upstream node killed with SIGKILL; the gate dials it until its lease (15 s) runs out'));
    const snap = await m.check();
    expect(owners(snap).get(victim.address)).toBeUndefined();
  });

  it('graceful stop of an upstream node: our leader gives its shards new targets', async () => {
    await m.up.nodes.find((n) => n.running)!.stop();
    await m.check();
  });

  it('graceful stop of a goverse-node: it hands its shards over', async () => {
    const g2 = m.ours.node(2);
    expect((await g2.stop(30_000)).code).toBe(0);
    await m.check();
  });

  it('kill -9 of a goverse-node: its shards are owned again once its lease runs out', async () => {
    await m.killAndCheck(m.ours.node(1), 'goverse-node was killed; the gate dials it until its lease (3 s) runs out', [g0.address]);
  });

  it('leaves no migration record behind: our leader collects those of completed moves, upstream ones included', async () => {
    await waitFor('no migration record left', async () => (await m.snapshot()).migrations.size === 0, { timeoutMs: 20_000, intervalMs: 200 });
  });
});
