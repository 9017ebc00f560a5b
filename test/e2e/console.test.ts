/**
 * The console end to end: the real `goverse-top` binary in a real terminal (a private tmux server) against a real
 * 3-node cluster (etcd + goverse-node processes). Keys go in with send-keys, the screen comes back with
 * capture-pane, and every effect is checked in etcd.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareAddresses } from '../../src/core/planner/context.js';
import { NodeCluster } from '../harness/nodes.js';
import { waitFor } from '../harness/waitFor.js';
import { TmuxTerminal } from './tmux.js';

const BIN = fileURLToPath(new URL('../../bin/goverse-top.js', import.meta.url));
const SESSION = 'console';
const SHARDS = 64;

let cluster: NodeCluster;
let term: TmuxTerminal;

const screen = (): Promise<string> => term.screen(SESSION);
const logFile = (): string => join(cluster.dir, 'top.log');
const exitFile = (): string => join(cluster.dir, 'top.exit');
/** The console's last log lines, for a failure's report. */
const logTail = (): string => (existsSync(logFile()) ? readFileSync(logFile(), 'utf8').split('\n').slice(-30).join('\n') : '(no log)');

/** Waits until the screen holds `text` (or matches it) and returns the screen. */
const shows = (text: string | RegExp, timeoutMs = 20_000): Promise<string> => term.shows(SESSION, text, timeoutMs);

/** Types keys one by one, as an operator does. */
async function type(...keys: string[]): Promise<void> {
  for (const k of keys) await term.keys(SESSION, [k], k.length === 1);
}

beforeAll(async () => {
  cluster = await NodeCluster.start({ nodes: 3, numShards: SHARDS, label: 'console-e2e' });
  await cluster.waitStable();
  term = await TmuxTerminal.start('console-e2e');
  const env = [
    `GOVERSE_ETCD_ENDPOINTS=${cluster.etcd.endpoints.join(',')}`,
    `GOVERSE_ETCD_PREFIX=${cluster.prefix}`,
    `GOVERSE_NUM_SHARDS=${SHARDS}`,
  ].join(' ');
  // CI and NO_COLOR from the test runner must not reach the console: it runs in a terminal of its own.
  // The exit status goes to a file: tmux at times leaves an exited pane process unreaped (a zombie) for many seconds
  // before it reports the pane dead, so its "Pane is dead" line is no reliable sign of the exit.
  const command = `env -u CI -u NO_COLOR ${env} ${process.execPath} ${BIN} top --stuck-timeout 1s --refresh 1s --log-file ${logFile()}; echo "exit $?" > ${exitFile()}`;
  await term.open(SESSION, command, 120, 40);
  await shows(`shards ${SHARDS}/${SHARDS} owned`);
}, 90_000);

afterAll(async () => {
  await term?.close();
  await cluster?.close();
});

describe('goverse-top console (tmux, real cluster)', () => {
  it('shows the shard distribution: one letter per shard, as many per node as it owns', async () => {
    await waitFor(
      'the map to match the owners in etcd',
      async () => {
        const snap = await cluster.snapshot();
        const owners = NodeCluster.owners(snap);
        const s = await screen();
        const lines = s.split('\n');
        const title = lines.findIndex((l) => l.includes('Shard map:'));
        const grid = lines[title + 1] ?? '';
        const legend = lines.find((l) => l.includes('=127.0.0.1:')) ?? '';
        const letters = new Map([...legend.matchAll(/([a-z])=(\S+)/g)].map((m) => [m[2]!, m[1]!]));
        for (const [address, count] of owners) {
          const letter = letters.get(address);
          if (letter === undefined) return false;
          const shown = [...grid].filter((ch) => ch.toLowerCase() === letter).length;
          if (shown !== count) return false;
        }
        return grid.trim().length === SHARDS;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const s = await screen();
    expect(s).toContain(`etcd ${cluster.etcd.endpoints[0]} ● synced`);
    expect(s).toContain('nodes 3 alive');
    expect(s).toMatch(/metrics 3\/3|metrics [0-3]\/3/);
  });

  it('p on a shard and confirming writes f=pinned into its etcd value', async () => {
    const before = (await cluster.snapshot()).shards[0]!;
    expect(before.flags).not.toContain('pinned');
    await shows('▶ shard 0 ');
    await type('p');
    await shows('Confirm: pin 1 shard');
    expect(await screen()).toContain(`new "${before.target},${before.current},f=pinned"`);
    await type('y');
    await waitFor('shard 0 pinned in etcd', async () => (await cluster.snapshot()).shards[0]?.raw.endsWith(',f=pinned'), {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    await shows(`pin: wrote ${cluster.prefix}/shard/0`);
  });

  it('reassigning a stuck shard to a chosen node makes that node its owner', async () => {
    const snap = await cluster.snapshot();
    const shard = snap.shards[1]!;
    const owner = shard.current;
    const alive = [...snap.nodes.keys()].sort(compareAddresses);
    const chosen = alive.find((a) => a !== owner)!;
    // Pinned to a node that does not exist: stuck for good (the leader only reports pinned shards, never moves them).
    const res = await cluster.client.txn({
      compares: [{ key: `${cluster.prefix}/shard/1`, modRevision: shard.modRevision }],
      success: [{ type: 'put', key: `${cluster.prefix}/shard/1`, value: `127.0.0.1:1,${owner},f=pinned` }],
    });
    expect(res.succeeded).toBe(true);

    await type(':', 's', 't', 'u', 'c', 'k', 'Enter');
    await shows(/\n +1 +\S+ pinned-to-dead\*/);
    await type('r');
    await shows('Reassign shard 1 to');
    // The picker lists "best node" first, then the alive nodes in address order.
    for (let i = 0; i <= alive.indexOf(chosen); i++) await type('j');
    await shows(new RegExp(`▶ ${chosen.replace(/\./g, '\\.')} `));
    await type('Enter');
    await shows(`Confirm: retarget 1 shard to ${chosen}`);
    await type('y');
    await waitFor(
      `shard 1 owned by ${chosen}`,
      async () => {
        const e = (await cluster.snapshot()).shards[1];
        return e?.target === chosen && e.current === chosen;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    await shows('no migration is past the stuck timeout');
  });

  it('shows a stale badge while etcd is down and recovers by itself when it is back', async () => {
    await cluster.etcd.member(0).stop();
    await shows(/✖ STALE \d+s/);
    await cluster.etcd.member(0).start();
    await shows(/● synced reconnects [1-9]/, 30_000);
  });

  it('q quits and gives the terminal back', async () => {
    await type('q');
    let last = '';
    await waitFor('the console to exit', () => existsSync(exitFile()) && readFileSync(exitFile(), 'utf8').trim() === 'exit 0', {
      timeoutMs: 15_000,
      intervalMs: 100,
      describe: () => `screen:\n${last}\nlog tail:\n${logTail()}`,
    });
    // The alternate screen is gone: the terminal shows what it showed before the console (nothing, here), and at
    // most tmux's own line about the ended pane.
    last = await screen();
    expect(last.replace(/Pane is dead \(status 0[^\n]*/, '').trim()).toBe('');
  });
});
