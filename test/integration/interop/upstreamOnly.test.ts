/**
 * goverse-top against real upstream Goverse: three upstream nodes (the counter sample) and an upstream gate on one
 * private etcd, 64 shards, objects created through the gate's REST API. Read commands must agree with etcd and with
 * upstream's own metrics; pin, unpin, reassign and release must be honoured by upstream without an error in its logs;
 * the console (in tmux) shows the cluster and its pin reaches upstream; drain and pause, which an upstream leader
 * ignores, are refused. After every scenario, no migration record outlives its migration by more than the stuck
 * timeout, although no leader of ours is there to collect them. Without the upstream kit the suite reports itself
 * skipped, with the reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compareAddresses } from '../../../src/core/planner/context.js';
import { fnv1a32 } from '../../../src/core/sharding/hash.js';
import type { ClusterSnapshot } from '../../../src/core/snapshot/snapshot.js';
import { endedRecords, expectRecordsBounded, waitEndedRecordsGone } from '../../harness/migrationRecords.js';
import { owners } from '../../harness/ownership.js';
import { prometheusAvailability, startPrometheus } from '../../harness/prometheus.js';
import { type ExpectedLogLine, locateUpstreamKit, UPSTREAM_LEASE_TTL_MS, UpstreamCluster, upstreamBinaries } from '../../harness/upstream.js';
import type { UpstreamGateClient } from '../../harness/upstreamGate.js';
import { waitFor } from '../../harness/waitFor.js';
import { TmuxTerminal } from '../../e2e/tmux.js';
import { CLI_BIN, type CliResult, json, runCli } from '../cli/cliRunner.js';

const SHARDS = 64;
const OBJECTS = Array.from({ length: 20 }, (_, i) => `Counter-${i}`);
/** goverse-top's stuck timeout here: the TTL of the lease its migration records are put under. */
const STUCK_TIMEOUT_MS = 15_000;
const kit = locateUpstreamKit();
const prometheusHere = prometheusAvailability();
if (!kit.available) process.stderr.write(`upstream interop suite skipped: ${kit.reason}\n`);

let cluster: UpstreamCluster;
let gate: UpstreamGateClient;
let env: Record<string, string>;
/** Error-level lines the scenarios cause on purpose, with their reason. */
const expectedErrors: ExpectedLogLine[] = [];
/** Records of moves that `reassign` asked for, still there once upstream completed them (it never deletes one). */
let recordsAfterMoves = 0;
/** The first test's `shards` rows and upstream's objects gauge (per node, per shard) read beside them. */
let shardRowsAtStart: ShardRow[] = [];
let objectsAtStart = new Map<string, Map<number, number>>();
/** After a move away from a node: goverse-top's objects for it, and upstream's gauge summed over the shards it owns. */
let objectsAfterRelease: { shown: number | null; owned: number } | null = null;
/** `shards` rows of the dead node's shards, captured while they had no alive owner. */
let orphanRows: ShardRow[] = [];
/** `status` and `stuck` at that moment. */
let orphanStatus: { shards: { stuck: number; orphaned: number } } | null = null;
let orphanStuck: { id: number; ageMs: number | null; ageSource: string; basis: string; reason: string }[] = [];

interface ShardRow {
  id: number;
  target: string;
  current: string;
  flags: string[];
  state: string;
  pinned: boolean;
  stuck: boolean;
  ageMs: number | null;
  ageSource: string | null;
  objects: number | null;
}
interface NodeRow {
  address: string;
  alive: boolean;
  leader: boolean;
  shardsTarget: number;
  shardsOwned: number;
  objects: number | null;
  ready: boolean | null;
  metrics: { reachable: boolean; status: string };
}
interface MutationDoc {
  changes: { id: number; old: string; new: string; written: boolean }[];
  skipped: unknown[];
  conflicts: number;
  failed: number;
}

const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
const shardValue = async (id: number): Promise<string | undefined> => (await cluster.client.get(`${cluster.prefix}/shard/${id}`))?.value;
const shardOf = (objectId: string): number => fnv1a32(objectId) % SHARDS;

function ok(r: CliResult): CliResult {
  expect(r.code, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
  return r;
}

/** Runs `fn` over `items`, `limit` at a time (each CLI run is a process; the machine has two cores). */
async function inBatches<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit) out.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return out;
}

/** Upstream's own view of how many shards each node owns: `goverse_shards_total{node}` (every node exports all). */
async function upstreamShardCounts(): Promise<Map<string, number>> {
  const counts = await Promise.all(cluster.nodes.filter((n) => n.running).map(async (n) => [n.address, await n.shardsTotal()] as const));
  return new Map(counts);
}

/** Waits until upstream's metrics report the ownership etcd shows, for the running nodes. */
async function waitMetricsAgree(snap: ClusterSnapshot): Promise<void> {
  const want = owners(snap);
  let last = '';
  await waitFor(
    "upstream's goverse_shards_total to match etcd",
    async () => {
      const got = await upstreamShardCounts();
      last = JSON.stringify([...got]);
      return [...got].every(([address, n]) => n === (want.get(address) ?? 0));
    },
    { timeoutMs: 20_000, intervalMs: 200, describe: () => `metrics ${last}, etcd ${JSON.stringify([...want])}` },
  );
}

describe.skipIf(!kit.available)(`an upstream-only cluster${kit.available ? '' : ` (skipped: ${kit.reason})`}`, () => {
  // The first build of the upstream binaries downloads a Go toolchain: minutes, once per machine.
  beforeAll(async () => {
    await upstreamBinaries(kit);
  }, 15 * 60_000);

  beforeAll(async () => {
    cluster = await UpstreamCluster.start({ nodes: 3, gates: 1, numShards: SHARDS, label: 'interop-upstream' });
    await cluster.waitStable();
    await cluster.waitGatesReady();
    gate = cluster.gate().client();
    // Created explicitly: upstream's objects gauge counts objects made by create, not those a first call makes.
    for (const [i, id] of OBJECTS.entries()) {
      await gate.create('Counter', id);
      expect(await gate.increment(id, i + 1)).toEqual({ name: id, value: i + 1 });
    }
    env = {
      GOVERSE_ETCD_ENDPOINTS: cluster.etcd.endpoints.join(','),
      GOVERSE_ETCD_PREFIX: cluster.prefix,
      GOVERSE_NUM_SHARDS: String(SHARDS),
      GOVERSE_METRICS_URL: cluster.metricsUrls(),
      GOVERSE_ETCD_TIMEOUT: '10s',
      GOVERSE_STUCK_TIMEOUT: `${STUCK_TIMEOUT_MS}ms`,
    };
  }, 120_000);

  afterEach(async () => {
    if (cluster !== undefined) await expectRecordsBounded(() => cluster.snapshot(), cluster.etcd.endpoints[0]!, STUCK_TIMEOUT_MS);
  });

  afterAll(async () => {
    gate?.close();
    await cluster?.close();
  });

  it('status, nodes, shards, stuck and locate agree with etcd and with upstream metrics', async () => {
    const snap = await cluster.snapshot();
    await waitMetricsAgree(snap);
    const [status, nodes, shards, stuck] = await Promise.all([cli('status', '-o', 'json'), cli('nodes', '-o', 'json'), cli('shards', '-o', 'json'), cli('stuck', '-o', 'json')]);
    // Nothing moved while the commands read.
    expect((await cluster.snapshot()).shards.map((e) => e?.raw)).toEqual(snap.shards.map((e) => e?.raw));

    expect(json(ok(status))).toMatchObject({
      leader: snap.leader?.address,
      leaderAlive: true,
      nodes: { alive: 3 },
      gates: 1,
      shards: { total: SHARDS, owned: SHARDS, stable: SHARDS, migrating: 0, unclaimed: 0, orphaned: 0, stuck: 0, pinned: 0 },
      malformed: 0,
    });

    const byEtcd = owners(snap);
    const byMetrics = await upstreamShardCounts();
    const objectsByNode = new Map(await Promise.all(cluster.nodes.map(async (n) => [n.address, await n.objectsByShard()] as const)));
    const rows = json<{ nodes: NodeRow[] }>(ok(nodes)).nodes;
    expect(rows.map((r) => r.address).sort()).toEqual(cluster.nodes.map((n) => n.address).sort());
    for (const r of rows) {
      expect(r).toMatchObject({ alive: true, leader: r.address === snap.leader?.address, metrics: { reachable: true, status: 'ok' } });
      expect(r.shardsOwned).toBe(byEtcd.get(r.address));
      expect(r.shardsTarget).toBe(byEtcd.get(r.address));
      expect(r.shardsOwned, `goverse_shards_total of ${r.address}`).toBe(byMetrics.get(r.address));
      const objects = [...objectsByNode.get(r.address)!.values()].reduce((a, b) => a + b, 0);
      expect(r.objects ?? 0, `objects of ${r.address}`).toBe(objects);
    }

    const shardRows = json<{ shards: ShardRow[] }>(ok(shards)).shards;
    expect(shardRows).toHaveLength(SHARDS);
    for (const r of shardRows) {
      const e = snap.shards[r.id]!;
      expect(r).toMatchObject({ target: e.target, current: e.current, flags: [], state: 'stable', pinned: false, stuck: false });
    }
    shardRowsAtStart = shardRows;
    objectsAtStart = objectsByNode;

    expect(json(ok(stuck))).toMatchObject({ stuck: [] });

    // Every object is where goverse-top says it is: in etcd, and in the owner's own objects gauge.
    const located = await inBatches(OBJECTS, 4, (id) => cli('locate', id, '-o', 'json'));
    for (const [i, r] of located.entries()) {
      const id = OBJECTS[i]!;
      const shard = shardOf(id);
      const owner = snap.shards[shard]!.current;
      expect(json(ok(r))).toMatchObject({ objectId: id, format: 'regular', shard, target: owner, current: owner, alive: true });
      for (const [address, byShard] of objectsByNode) expect(byShard.has(shard), `${id} (shard ${shard}) on ${address}`).toBe(address === owner);
    }
  });

  // Before anything moves: upstream's objects gauge then counts only the shards each node owns.
  it.skipIf(!prometheusHere.available)(
    `reads upstream nodes' metrics through a real Prometheus, each found by the http_addr of its --config entry${prometheusHere.available ? '' : ` (skipped: ${prometheusHere.reason})`}`,
    async () => {
      // Scraped under Prometheus's own instance label, the host:port of each node's http_addr.
      const prometheus = await startPrometheus({ targets: cluster.nodes.map((n) => ({ address: `127.0.0.1:${n.httpPort}` })), label: 'interop-prometheus' });
      try {
        await prometheus.waitTargetsUp(30_000);
        const { GOVERSE_METRICS_URL: _listed, ...withoutUrls } = env;
        const expected = new Map(cluster.nodes.map((n) => [n.address, [...objectsAtStart.get(n.address)!.values()].reduce((a, b) => a + b, 0)]));
        let last = '';
        await waitFor(
          'every upstream node read through Prometheus, with the objects its own gauge counts',
          async () => {
            const r = ok(await runCli(['--config', cluster.configFile, 'nodes', '-o', 'json', '--prometheus-url', prometheus.url], withoutUrls));
            const rows = json<{ nodes: (NodeRow & { metrics: { url: string } })[] }>(r).nodes;
            last = JSON.stringify(rows.map((n) => [n.address, n.objects, n.metrics]));
            return cluster.nodes.every((n) => {
              const row = rows.find((x) => x.address === n.address);
              return row?.metrics.status === 'ok' && row.metrics.url === `${prometheus.url} instance 127.0.0.1:${n.httpPort}` && row.objects === expected.get(n.address);
            });
          },
          { timeoutMs: 30_000, intervalMs: 500, describe: () => last },
        );
      } finally {
        await prometheus.stop();
      }
    },
  );

  it('reassign moves a shard and keeps a pin through upstream own writes; unpin removes only the flag', async () => {
    const snap = await cluster.snapshot();
    // A shard holding an object, from the node with the most shards to the one with the fewest: the balance holds,
    // so upstream's rebalancer has no reason to move anything else meanwhile.
    const counts = [...owners(snap)].sort((a, b) => b[1] - a[1]);
    const [from, to] = [counts[0]![0], counts[counts.length - 1]![0]];
    const objectId = OBJECTS.find((id) => snap.shards[shardOf(id)]!.current === from);
    expect(objectId, `an object on ${from}`).toBeDefined();
    const shard = shardOf(objectId!);

    const pinned = json<MutationDoc>(ok(await cli('pin', String(shard), '-o', 'json')));
    expect(pinned.changes).toEqual([expect.objectContaining({ id: shard, new: `${from},${from},f=pinned`, written: true })]);
    const moved = json<MutationDoc>(ok(await cli('reassign', String(shard), '--to', to, '-o', 'json')));
    expect(moved.changes).toEqual([expect.objectContaining({ id: shard, new: `${to},${from},f=pinned`, written: true })]);
    // Upstream's old owner releases (evicting the object), the new target claims; both writes keep the flag.
    await waitFor(`shard ${shard} claimed by ${to}`, async () => (await shardValue(shard)) === `${to},${to},f=pinned`, { timeoutMs: 30_000, intervalMs: 100 });
    const after = await cluster.snapshot();
    noteRecordsLeft(after, [shard]);
    await waitMetricsAgree(after);
    expect(owners(after).get(to)).toBe(owners(snap).get(to)! + 1);
    // goverse-top's objects column of the old owner, against upstream's gauge limited to the shards it still owns.
    const oldOwner = cluster.nodes.find((n) => n.address === from)!;
    const gauge = await oldOwner.objectsByShard();
    const fromRow = json<{ nodes: NodeRow[] }>(ok(await cli('nodes', '-o', 'json'))).nodes.find((r) => r.address === from)!;
    objectsAfterRelease = {
      shown: fromRow.objects,
      owned: [...gauge].filter(([id]) => after.shards[id]?.current === from).reduce((sum, [, n]) => sum + n, 0),
    };
    // The object answers from its new owner (the counter sample keeps state in memory: it starts again from 0).
    await expect(gate.get(objectId!)).resolves.toMatchObject({ name: objectId });

    const shardRow = json<{ shards: ShardRow[] }>(ok(await cli('shards', '--ids', String(shard), '-o', 'json'))).shards[0];
    expect(shardRow).toMatchObject({ target: to, current: to, flags: ['pinned'], state: 'stable', pinned: true, stuck: false });

    const unpinned = json<MutationDoc>(ok(await cli('unpin', String(shard), '-o', 'json')));
    expect(unpinned.changes).toEqual([expect.objectContaining({ id: shard, old: `${to},${to},f=pinned`, new: `${to},${to}`, written: true })]);
    expect(await shardValue(shard)).toBe(`${to},${to}`);
    expect(json(ok(await cli('status', '-o', 'json')))).toMatchObject({ shards: { owned: SHARDS, stable: SHARDS, pinned: 0, stuck: 0 } });
    expectNoUpstreamErrors();
  });

  it('drain and rebalance pause refuse under an upstream leader (exit 3), name pin and reassign, and write nothing', async () => {
    const snap = await cluster.snapshot();
    const node = cluster.nodes.find((n) => n.running && n.address !== snap.leader?.address)!.address;
    for (const args of [
      ['drain', node],
      ['rebalance', 'pause', '--for', '1m'],
      ['drain', node, '--dry-run'],
    ]) {
      const r = await cli(...args);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(3);
      expect(r.stderr).toContain(`the leader ${snap.leader!.address} is an upstream Goverse node`);
      expect(r.stderr).toMatch(/goverse-top pin <shards>.*goverse-top reassign <shards> --to <node>/);
    }
    const after = await cluster.snapshot();
    expect(after.drains.size).toBe(0);
    expect(after.pause).toBeNull();
    expect(after.shards.map((e) => e?.raw)).toEqual(snap.shards.map((e) => e?.raw));
  });

  it('the console (tmux) shows the cluster; a pin made with its keys reaches upstream, which keeps it through a move', async () => {
    const term = await TmuxTerminal.start('interop-console');
    const session = 'top';
    const logFile = join(cluster.dir, 'top.log');
    let last = '';
    const shows = (text: string | RegExp, timeoutMs = 20_000): Promise<string> =>
      waitFor(
        `the console to show ${String(text)}`,
        async () => {
          last = await term.screen(session);
          return (typeof text === 'string' ? last.includes(text) : text.test(last)) ? last : null;
        },
        { timeoutMs, intervalMs: 100, describe: () => `screen:\n${last}\nlog:\n${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : ''}` },
      );
    const type = async (...keys: string[]): Promise<void> => {
      for (const k of keys) await term.keys(session, [k], k.length === 1);
    };
    const shard = 0;
    try {
      // Upstream's own YAML: etcd, prefix, shard count and the nodes' metrics addresses, nothing else.
      await term.open(
        session,
        `env -u CI -u NO_COLOR GOVERSE_STUCK_TIMEOUT=${STUCK_TIMEOUT_MS}ms ${process.execPath} ${CLI_BIN} top --config ${cluster.configFile} --refresh 1s --log-file ${logFile}`,
        120,
        40,
      );
      const snap = await cluster.snapshot();
      const leader = snap.leader!.address;
      const screen = await shows(`shards ${SHARDS}/${SHARDS} owned`);
      expect(screen).toContain(`leader ${leader} (upstream)`);
      await shows('metrics 3/3');
      // Drain and pause are ignored by an upstream leader: their hints are gone, and the palette's drain says why.
      expect(await term.screen(session)).not.toMatch(/\bd drain|P pause/);
      await type(':', ...'drain '.split(''), ...[...snap.nodes.keys()][0]!.split(''), 'Enter');
      await shows(`drain refused: the leader ${leader} is an upstream Goverse node`);

      const before = snap.shards[shard]!;
      expect(before.flags).toEqual([]);
      await type('Escape');
      await shows(`▶ shard ${shard} `);
      await type('p');
      await shows('Confirm: pin 1 shard');
      await type('y');
      await waitFor(`shard ${shard} pinned in etcd`, async () => (await shardValue(shard)) === `${before.target},${before.current},f=pinned`, { timeoutMs: 15_000, intervalMs: 50 });
      // Reassign it with the console's picker to another node: upstream releases and claims, keeping the flag.
      const alive = [...snap.nodes.keys()].sort(compareAddresses);
      const to = alive.find((a) => a !== before.current)!;
      await type('r');
      await shows(`Reassign shard ${shard} to`);
      for (let i = 0; i <= alive.indexOf(to); i++) await type('j');
      await shows(new RegExp(`▶ ${to.replaceAll('.', '\\.')} `));
      await type('Enter');
      await shows(`Confirm: retarget 1 shard to ${to}`);
      await type('y');
      await waitFor(`shard ${shard} claimed by ${to}, still pinned`, async () => (await shardValue(shard)) === `${to},${to},f=pinned`, { timeoutMs: 30_000, intervalMs: 100 });
      noteRecordsLeft(await cluster.snapshot(), [shard]);
      await type('q');
    } finally {
      await term.close();
    }
    ok(await cli('unpin', String(shard)));
    expectNoUpstreamErrors();
  });

  it('release clears a dead owner, upstream leaves the shards to goverse-top, and reassign brings them back', async () => {
    const snap = await cluster.snapshot();
    const leader = snap.leader?.address;
    const victim = cluster.nodes.find((n) => n.running && n.address !== leader)!;
    const survivor = cluster.nodes.find((n) => n.running && n !== victim && n.address !== leader) ?? cluster.nodes.find((n) => n.address === leader)!;
    const ids = snap.shards.filter((e) => e!.current === victim.address).map((e) => e!.id);
    expect(ids.length).toBeGreaterThan(0);
    const list = ids.join(',');
    // Pinned first, so that upstream's leader does not retarget them itself once the node is gone.
    ok(await cli('pin', list));

    await victim.kill();
    // Until its lease runs out (upstream: 15 s), the gate keeps dialling the dead node to register with it.
    expectedErrors.push({
      pattern: new RegExp(`Failed to call RegisterGate on node ${victim.address.replaceAll('.', '\\.')}: .*connection refused`),
      reason: `node ${victim.id} was killed with SIGKILL; the gate retries it until its lease expires`,
    });
    // Still registered (its lease runs for seconds): each shard skipped, nothing written.
    if ((await cluster.client.get(`${cluster.prefix}/nodes/${victim.address}`)) !== null) {
      const refused = json<MutationDoc>(ok(await cli('release', list, '-o', 'json')));
      expect(refused.changes).toEqual([]);
      expect(refused.skipped).toEqual(ids.map((shardId) => expect.objectContaining({ shardId, refusal: expect.objectContaining({ code: 'owner-alive' }) })));
      expect(await shardValue(ids[0]!)).toBe(`${victim.address},${victim.address},f=pinned`);
    }
    await waitFor(`${victim.id}'s node key to expire`, async () => (await cluster.client.get(`${cluster.prefix}/nodes/${victim.address}`)) === null, {
      timeoutMs: UPSTREAM_LEASE_TTL_MS + 15_000,
      intervalMs: 200,
    });
    const orphaned = await cli('status', '-o', 'json');
    expect(orphaned.code).toBe(4);
    expect(json(orphaned)).toMatchObject({ nodes: { alive: 2 }, shards: { owned: SHARDS - ids.length, orphaned: ids.length, pinned: ids.length } });
    orphanStatus = json(orphaned);
    orphanRows = json<{ shards: ShardRow[] }>(ok(await cli('shards', '--ids', list, '-o', 'json'))).shards;
    expect(orphanRows.map((r) => r.state)).toEqual(ids.map(() => 'orphaned'));
    const stuckNow = await cli('stuck', '-o', 'json');
    expect(stuckNow.code, stuckNow.stderr).toBe(4);
    orphanStuck = json<{ stuck: typeof orphanStuck }>(stuckNow).stuck;

    const released = json<MutationDoc>(ok(await cli('release', list, '-o', 'json')));
    expect(released).toMatchObject({ skipped: [], conflicts: 0, failed: 0 });
    expect(released.changes.map((c) => [c.id, c.new, c.written])).toEqual(ids.map((id) => [id, `${victim.address},,f=pinned`, true]));

    const reassigned = json<MutationDoc>(ok(await cli('reassign', list, '--to', survivor.address, '-o', 'json')));
    expect(reassigned.changes.map((c) => [c.id, c.old, c.new])).toEqual(
      ids.map((id) => [id, `${victim.address},,f=pinned`, `${survivor.address},,f=pinned`]),
    );
    const running = cluster.nodes.filter((n) => n.running);
    const settled = await cluster.waitStable({ nodes: running, timeoutMs: 30_000 });
    for (const id of ids) expect(settled.shards[id]!.raw).toBe(`${survivor.address},${survivor.address},f=pinned`);
    noteRecordsLeft(settled, ids);
    await waitMetricsAgree(settled);
    // Objects of those shards answer again, from the survivor.
    for (const id of OBJECTS.filter((o) => ids.includes(shardOf(o)))) await expect(gate.get(id)).resolves.toMatchObject({ name: id });

    ok(await cli('unpin', list));
    expect(json(ok(await cli('status', '-o', 'json')))).toMatchObject({ nodes: { alive: 2 }, shards: { owned: SHARDS, pinned: 0, orphaned: 0, stuck: 0 } });
    expectNoUpstreamErrors();
  });

  it("shards reports each shard's objects as upstream's objects gauge counts them", () => {
    expect(shardRowsAtStart).toHaveLength(SHARDS);
    for (const r of shardRowsAtStart) expect(r.objects ?? 0, `objects in shard ${r.id}`).toBe(objectsAtStart.get(r.current)?.get(r.id) ?? 0);
    // Every object is counted in one shard row: the gauges know where the 20 objects are.
    expect(shardRowsAtStart.reduce((n, r) => n + (r.objects ?? 0), 0)).toBe(OBJECTS.length);
  });

  it('counts only the objects in shards a node owns (upstream keeps exporting those of a shard it released)', () => {
    expect(objectsAfterRelease).not.toBeNull();
    expect(objectsAfterRelease!.shown ?? 0).toBe(objectsAfterRelease!.owned);
  });

  it('shows the age of an orphaned shard that has no migration record as unknown (null), and calls it stuck by its state', () => {
    expect(orphanRows.length).toBeGreaterThan(0);
    for (const r of orphanRows) expect(r, `shard ${r.id}`).toMatchObject({ ageMs: null, ageSource: 'unknown', stuck: true });
    // Pinned to a node that is gone: nothing repairs that, whatever its age, so status counts it as stuck.
    expect(orphanStatus?.shards).toMatchObject({ orphaned: orphanRows.length, stuck: orphanRows.length });
    expect(orphanStuck.map((s) => s.id)).toEqual(orphanRows.map((r) => r.id));
    for (const s of orphanStuck) {
      expect(s).toMatchObject({ ageMs: null, ageSource: 'unknown', basis: 'state' });
      expect(s.reason).toMatch(/is pinned to .*, which is not alive.*\(for an unknown time: no migration record\)$/);
    }
  });

  it("finds upstream nodes' metrics and readiness from upstream's own YAML config", async () => {
    const r = await runCli(['--config', cluster.configFile, 'nodes', '-o', 'json']);
    const rows = json<{ nodes: NodeRow[] }>(ok(r)).nodes.filter((n) => n.alive);
    expect(rows.map((n) => n.address).sort()).toEqual(cluster.nodes.filter((n) => n.running).map((n) => n.address).sort());
    for (const row of rows) expect(row, row.address).toMatchObject({ ready: true, metrics: { reachable: true, status: 'ok' } });
  });

  it('leaves no migration record beyond its bound: those of moves upstream completed expire within the stuck timeout', async () => {
    // Upstream completed moves whose records it knew nothing of; no leader of ours is there to collect them.
    expect(recordsAfterMoves).toBeGreaterThan(1);
    await waitEndedRecordsGone(() => cluster.snapshot(), STUCK_TIMEOUT_MS);
    expect((await cluster.snapshot()).migrations.size).toBe(0);
  });

  it("reads the cluster from upstream's own YAML config", async () => {
    const r = await runCli(['--config', cluster.configFile, 'status', '-o', 'json']);
    expect(json(ok(r))).toMatchObject({ prefix: cluster.prefix, gates: 1, shards: { total: SHARDS, owned: SHARDS } });
  });
});

/** Counts the records of the moved shards still there now that upstream completed their moves (leased, so bounded). */
function noteRecordsLeft(snap: ClusterSnapshot, moved: readonly number[]): void {
  const left = endedRecords(snap).filter((r) => moved.includes(r.shardId));
  for (const r of left) expect(r.lease, `the record of shard ${r.shardId}`).not.toBe('0');
  recordsAfterMoves += left.length;
}

/** Every upstream log (nodes and gate) is free of error-level lines, except those a scenario expects. */
function expectNoUpstreamErrors(): void {
  expect(cluster.errorLines(expectedErrors), 'unexpected error-level lines in upstream logs').toEqual([]);
}
