/**
 * The cluster history end to end, on a real 3-node cluster (etcd + goverse-node processes): an operator action from
 * each front end (a pin from the CLI, a reassign typed into the console in a real terminal, a drain through a node's
 * admin API) and the leader's own decisions all land in one history, which `goverse-top history -o json` reads from a
 * process of its own; the history outlives the leader that wrote into it; `history --follow` prints each new entry
 * within a second of its commit (measured against a watch of the history prefix in this process).
 */
import { hostname, userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseShardList } from '../../src/core/operations/shardList.js';
import { compareAddresses } from '../../src/core/planner/context.js';
import type { WatchHandle } from '../../src/edge/etcd/client.js';
import { NodeCluster, type TestNode } from '../harness/nodes.js';
import { type ManagedProcess, spawnManaged } from '../harness/processes.js';
import { waitFor } from '../harness/waitFor.js';
import { cliEnv, json, runCli } from '../integration/cli/cliRunner.js';
import { leaderOf, logRecords } from '../integration/cluster/clusterTools.js';
import { TmuxTerminal } from './tmux.js';

const BIN = fileURLToPath(new URL('../../bin/goverse-top.js', import.meta.url));
const SESSION = 'history';
const SHARDS = 64;
const ADMIN_TOKEN = 'history-e2e-admin-token-0123456789';
/** The actor goverse-top records for this machine's user (CLI and console alike). */
const OPERATOR = `${userInfo().username}@${hostname()}`;

/** An entry as `history -o json` prints it (the stored fields, plus id and time). */
interface Entry {
  readonly id: string;
  readonly at: number;
  readonly actor: string;
  readonly source: string;
  readonly action: string;
  readonly node?: string;
  /** A shard list as the CLI takes it (`1,5,10-20`). */
  readonly shards?: string;
  readonly moves?: { from: string; to: string; shards: string; count: number }[];
  readonly reason: string;
  readonly outcome: string;
}

let cluster: NodeCluster;
let term: TmuxTerminal;
let follow: ManagedProcess;
let watch: WatchHandle;
/** When each history key was first seen committed (this process's watch), and when `--follow` printed its entry. */
const committedAt = new Map<string, number>();
const printedAt = new Map<string, number>();
/** When `--follow` printed its listing: entries committed later reach it through its watch. */
let listedAt = Number.POSITIVE_INFINITY;

const env = (): Record<string, string> => ({
  GOVERSE_ETCD_ENDPOINTS: cluster.etcd.endpoints.join(','),
  GOVERSE_ETCD_PREFIX: cluster.prefix,
  GOVERSE_NUM_SHARDS: String(SHARDS),
});

async function history(): Promise<Entry[]> {
  const r = await runCli(['history', '-o', 'json'], env());
  expect(r.code, r.stderr).toBe(0);
  return json<{ entries: Entry[] }>(r).entries;
}

/** Waits until the history (read by a goverse-top process) holds an entry matching `match`; returns the history. */
async function historyWith(what: string, match: (e: Entry) => boolean, timeoutMs = 30_000): Promise<Entry[]> {
  let last: Entry[] = [];
  return waitFor(`an entry of ${what} in the history`, async () => ((last = await history()).some(match) ? last : null), {
    timeoutMs,
    intervalMs: 200,
    describe: () => last.map((e) => `${e.source} ${e.actor} ${e.action}: ${e.reason}`).join('\n'),
  });
}

function adminUrl(node: TestNode): string {
  const url = logRecords(node).find((r) => r.msg === 'admin API listening')?.url;
  if (typeof url !== 'string') throw new Error(`node ${node.index} logs no admin URL`);
  return url;
}

async function type(...keys: string[]): Promise<void> {
  for (const k of keys) await term.keys(SESSION, [k], k.length === 1);
}

beforeAll(async () => {
  cluster = await NodeCluster.start({
    nodes: 3,
    numShards: SHARDS,
    label: 'history-e2e',
    env: { GOVERSE_ADMIN_TOKEN: ADMIN_TOKEN, GOVERSE_ADMIN_LISTEN: '127.0.0.1:0' },
  });
  await cluster.waitStable();
  const root = cluster.keys.historyRoot;
  // Committed: the moment etcd tells a watcher in this process about the key.
  watch = cluster.client.watchPrefix(root, (await cluster.client.rangePrefix(root)).revision + 1, {
    onEvents: (events) => {
      const now = performance.now();
      for (const e of events) if (e.type === 'put' && !committedAt.has(e.kv.key.slice(root.length))) committedAt.set(e.kv.key.slice(root.length), now);
    },
    onConnected: () => undefined,
    onDisconnected: () => undefined,
    onCancelled: () => undefined,
  });
  // The initial placement is an entry already: the follower has printed its listing once that line is out.
  await waitFor('a first history entry', async () => (await history()).length > 0, { timeoutMs: 20_000, intervalMs: 100 });
  follow = spawnManaged('goverse-top history --follow', process.execPath, [BIN, 'history', '--follow', '-o', 'json'], { env: cliEnv(env()) });
  let pending = '';
  follow.child.stdout?.on('data', (chunk: Buffer) => {
    const now = performance.now();
    listedAt = Math.min(listedAt, now);
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const id = (JSON.parse(line) as Entry).id;
      if (!printedAt.has(id)) printedAt.set(id, now);
    }
  });
  await waitFor('history --follow to print the history so far', () => printedAt.size > 0, { timeoutMs: 20_000, describe: () => follow.output() });

  term = await TmuxTerminal.start('history-e2e');
  const vars = Object.entries(env()).map(([k, v]) => `${k}=${v}`).join(' ');
  await term.open(SESSION, `env -u CI -u NO_COLOR ${vars} ${process.execPath} ${BIN} top --refresh 1s`, 120, 40);
  await term.shows(SESSION, `shards ${SHARDS}/${SHARDS} owned`);
}, 120_000);

afterAll(async () => {
  await watch?.cancel();
  await follow?.stop('SIGTERM', 5000);
  await term?.close();
  await cluster?.close();
});

describe('the cluster history (real cluster, CLI, console, admin API, leader)', () => {
  let before: Entry[] = [];

  it('records a CLI pin, a console reassign, an admin API drain and a leader rebalance, read by a second process', async () => {
    const pin = await runCli(['pin', '5'], env());
    expect(pin.code, pin.stderr).toBe(0);

    // The console: shard 0 is under the cursor; reassign it to the first node in the picker that does not own it.
    const snap = await cluster.snapshot();
    const owner = snap.shards[0]!.current;
    const alive = [...snap.nodes.keys()].sort(compareAddresses);
    const chosen = alive.find((a) => a !== owner)!;
    await term.shows(SESSION, '▶ shard 0 ');
    await type('r');
    await term.shows(SESSION, 'Reassign shard 0 to');
    for (let i = 0; i <= alive.indexOf(chosen); i++) await type('j');
    await term.shows(SESSION, new RegExp(`▶ ${chosen.replace(/\./g, '\\.')} `));
    await type('Enter');
    await term.shows(SESSION, `retarget 1 shard to ${chosen}`);
    await type('y');
    await historyWith('the console\'s reassign', (e) => e.action === 'reassign' && e.source === 'console');
    await cluster.waitStable();

    // The admin API of one node drains another, which is not the leader (the next test kills the leader). It plans
    // on the node's view of the cluster: a shard the leader moved meanwhile loses its compare (409), and an operator
    // sends the drain again.
    const leader = (await leaderOf(cluster))!.address;
    const [viaNode, drained] = cluster.nodes.filter((n) => n.address !== leader) as [TestNode, TestNode];
    let answer = '';
    await waitFor('the admin API to drain the node', async () => {
      const res = await fetch(`${adminUrl(viaNode)}/admin/v1/nodes/drain`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ node: drained.address }),
      });
      answer = `${res.status} ${await res.text()}`;
      if (res.status !== 200 && res.status !== 409) throw new Error(answer);
      return res.status === 200;
    }, { timeoutMs: 20_000, intervalMs: 200, describe: () => answer });

    // A new node: the leader rebalances shards onto it.
    const [added] = await cluster.addNodes(1);
    const entries = await historyWith('a rebalance onto the new node', (e) => e.action === 'rebalance' && (e.moves ?? []).some((m) => m.to === added!.address));

    const pinned = entries.find((e) => e.action === 'pin');
    expect(pinned).toMatchObject({ source: 'cli', actor: OPERATOR, outcome: 'written' });
    expect(parseShardList(pinned!.shards!, SHARDS)).toContain(5);
    const reassigned = entries.find((e) => e.action === 'reassign');
    expect(reassigned).toMatchObject({ source: 'console', actor: OPERATOR, outcome: 'written', node: chosen });
    expect(reassigned!.moves).toEqual([{ from: owner, to: chosen, shards: '0', count: 1 }]);
    const drain = entries.findLast((e) => e.action === 'drain');
    expect(drain).toMatchObject({ source: 'admin-api', actor: `admin@${viaNode.address}`, node: drained.address });
    // Partial when it took a second request (some shard lost its compare to the leader the first time).
    expect(['written', 'partial']).toContain(drain!.outcome);
    expect(drain!.moves!.every((m) => m.from === drained.address)).toBe(true);
    const rebalance = entries.find((e) => e.action === 'rebalance' && (e.moves ?? []).some((m) => m.to === added!.address));
    expect(rebalance).toMatchObject({ source: 'leader', actor: leader, outcome: 'written' });
    for (const e of [pinned, reassigned, drain, rebalance]) expect(e!.reason).not.toBe('');
    expect(reassigned!.reason).toContain(`retarget 1 shard to ${chosen}`);
    before = entries;
  });

  it('outlives the leader: the next leader appends its decisions to the same history, the old entries stay', async () => {
    expect(before.length).toBeGreaterThan(0);
    const old = (await leaderOf(cluster))!.address;
    await cluster.nodes.find((n) => n.address === old)!.kill();
    const next = await waitFor('a new leader', async () => {
      const l = await leaderOf(cluster);
      return l !== null && l.address !== old && l.address;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    // The dead leader's shards go to the others: a decision of the new leader.
    const entries = await historyWith(`an assignment by the new leader ${next}`, (e) => e.source === 'leader' && e.actor === next && e.action === 'assign');
    const ids = entries.map((e) => e.id);
    for (const e of before) expect(ids).toContain(e.id);
    const latest = before.at(-1)!.id;
    const appended = entries.filter((e) => e.id > latest);
    expect(appended.some((e) => e.actor === next && e.action === 'assign' && (e.moves ?? []).every((m) => m.from === old))).toBe(true);
    expect(ids).toEqual([...ids].sort());
  });

  it('history --follow printed every new entry within 1 s of its commit', async () => {
    const fresh = [...committedAt].filter(([, t]) => t > listedAt).map(([id]) => id);
    await waitFor('history --follow to print every entry', () => fresh.every((id) => printedAt.has(id)), {
      timeoutMs: 10_000,
      describe: () => `missing: ${fresh.filter((id) => !printedAt.has(id)).join(', ')}\n${follow.output()}`,
    });
    const delays = fresh.map((id) => printedAt.get(id)! - committedAt.get(id)!);
    expect(fresh.length).toBeGreaterThanOrEqual(5);
    const max = Math.max(...delays);
    console.info(`history --follow: ${fresh.length} entries, delay after commit max ${max.toFixed(0)} ms, median ${delays.sort((a, b) => a - b)[delays.length >> 1]!.toFixed(0)} ms`);
    expect(max).toBeLessThan(1000);
  });
});
