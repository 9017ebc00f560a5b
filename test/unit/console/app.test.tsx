/**
 * The console as an operator drives it: the real controller, frame builder and Ink components, rendered by
 * ink-testing-library, with the core operations planning every write and a recorder in place of etcd.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { applyEvents } from '../../../src/core/snapshot/snapshot.js';
import { type Harness, kv, mount, N1, N2, N3, NOW, P, RecordingWriter, richHistoryKvs, richMetrics, richSnapshot, snapshotOf } from './fixtures.js';

let h: Harness | null = null;
afterEach(() => {
  h?.unmount();
  h = null;
});

const lines = (frame: string): string[] => frame.split('\n');

describe('console screen', () => {
  it('shows the header, the tab bar and the shard map, in fewer lines than the terminal has', async () => {
    h = await mount(richSnapshot(), { metrics: richMetrics(), cols: 140, rows: 30 });
    const f = h.lastFrame();
    expect(f).toContain('etcd 127.0.0.1:2379 ● synced');
    expect(f).toContain(`leader ${N1}`);
    expect(f).toMatch(/rev \d+/);
    expect(f).toContain('prefix /gv');
    expect(f).toContain('nodes 2 alive (1 dead)');
    expect(f).toContain('shards 46/48 owned');
    // The state migrating (shard 9); shard 7, TargetNode ≠ CurrentNode with a dead owner, is orphaned.
    expect(f).toContain('migrating 1');
    expect(f).toContain('stuck 1');
    expect(f).toContain('pinned 1');
    expect(f).toMatch(/imbalance \d\.\d\d\/\d\.\d\d/);
    expect(f).toContain('balancer balanced: count: spread 1 within the threshold');
    expect(f).toContain('Shard map: 48 shards by owner');
    // Owners by letter (A: pinned), '>' migrating, '!' stuck, '.' no target: readable without colour.
    expect(f).toContain('aaaAaaaaaaaaaaaaaaaaaaaaabb>bbbbbbbbbbbbbbbbbb!.');
    expect(f).toContain(`a=${N1} b=${N2} c=${N3}`);
    expect(lines(f).length).toBeLessThan(30);
  });

  it('works at 80x24: every line fits and the frame is one line shorter than the terminal', async () => {
    h = await mount(richSnapshot(), { metrics: richMetrics(), cols: 80, rows: 24 });
    for (const pane of ['shards', 'stuck', 'locks', 'rebalance', 'nodes']) {
      const f = lines(h.lastFrame());
      expect(f.length, pane).toBeLessThanOrEqual(23);
      for (const l of f) expect(l.length, `${pane}: ${l}`).toBeLessThanOrEqual(80);
      await h.press('tab');
    }
  });

  it('adapts to a resize and says when the terminal is too small', async () => {
    h = await mount(richSnapshot(), { cols: 100, rows: 30 });
    h.controller.setSize(30, 10);
    await h.settle();
    expect(h.lastFrame()).toContain('too small');
    h.controller.setSize(120, 50);
    await h.settle();
    // A tall terminal shows the node table under the map.
    expect(h.lastFrame()).toContain('Shard map:');
    expect(h.lastFrame()).toContain('Nodes: 2/3 alive');
  });

  it('shows a stale badge and the reconnect count when etcd is lost, and recovers', async () => {
    h = await mount(richSnapshot(), { cols: 120, rows: 30 });
    h.controller.onWatcherEvent({
      type: 'status',
      status: { kind: 'reconnecting', since: NOW - 12_000, attempts: 3, lastError: 'connect ECONNREFUSED 127.0.0.1:2379' },
    });
    await h.settle();
    expect(h.lastFrame()).toContain('✖ STALE 12s reconnects 1: etcd unreachable (attempt 3: connect ECONNREFUSED');
    h.controller.onWatcherEvent({ type: 'status', status: { kind: 'synced', revision: 99, since: NOW } });
    await h.settle();
    expect(h.lastFrame()).toContain('● synced reconnects 1');
  });

  it('before the first load says it is connecting, with an empty map', async () => {
    h = await mount(snapshotOf({ nodes: [], numShards: 16 }), { cols: 100, rows: 24 });
    h.controller.onWatcherEvent({ type: 'status', status: { kind: 'connecting', since: NOW - 3000 } });
    await h.settle();
    expect(h.lastFrame()).toContain('○ connecting 3s');
    expect(h.lastFrame()).toContain('................');
  });

  it('shows a rebalancing pause prominently with its countdown', async () => {
    const pause = kv(`${P}/rebalance/pause`, encodeRecord({ until: NOW + 252_000, by: 'ops@box', at: NOW - 1000, reason: 'deploy' }));
    h = await mount(richSnapshot([pause]), { cols: 120, rows: 30 });
    expect(h.lastFrame()).toContain('⏸ REBALANCING PAUSED 4m12s left, by ops@box (deploy)');
  });
});

describe('panes', () => {
  it('nodes: one row per node with state codes, shards vs ideal, load, locks and metrics reachability', async () => {
    h = await mount(richSnapshot(), { metrics: richMetrics(), cols: 100, rows: 30 });
    await h.press(':', 'n', 'o', 'd', 'e', 's', 'return');
    const f = h.lastFrame();
    expect(f).toContain('Nodes: 2/3 alive');
    expect(f).toMatch(/NODE▲ +ST RDY +TGT\/IDEAL +OWN +OBJ +CALL\/s +LKp99 +WL MET/);
    expect(f).toMatch(new RegExp(`${N1} +UL yes +26/24 +25 +576 +50 +1ms +2 ok`));
    expect(f).toMatch(new RegExp(`${N3} +DN - +0/- +1 +- +- +- +- down`));
  });

  it('nodes: an alive node whose metrics cannot be read is marked in the header and on its row', async () => {
    const metrics = richMetrics();
    metrics.set(N2, { kind: 'unreachable', url: 'http://10.0.0.2:9100/metrics', atMs: NOW, reason: 'no answer within 1s', lastOk: null });
    h = await mount(richSnapshot(), { metrics, cols: 140, rows: 30 });
    await h.press(':nodes\r');
    expect(h.lastFrame()).toContain('metrics 1/2 (1 unreachable)');
    expect(h.lastFrame()).toMatch(new RegExp(`${N2} +UN - .* down`));
  });

  it('nodes: sorts by any column (< > change it, I inverts it) and keeps the selection', async () => {
    h = await mount(richSnapshot(), { metrics: richMetrics(), cols: 100, rows: 30 });
    await h.press(':', 'n', 'o', 'd', 'e', 's', 'return');
    const order = (): string[] => [N1, N2, N3].sort((a, b) => h!.lastFrame().indexOf(`\n${a}`) - h!.lastFrame().indexOf(`\n${b}`));
    expect(order()).toEqual([N1, N2, N3]);
    // OWN column, ascending: N3 (1), N2 (21), N1 (25); then inverted.
    await h.press('>', '>', '>', '>');
    expect(h.lastFrame()).toContain('OWN▲');
    expect(order()).toEqual([N3, N2, N1]);
    await h.press('I');
    expect(h.lastFrame()).toContain('OWN▼');
    expect(order()).toEqual([N1, N2, N3]);
    await h.press('<', '<', '<', '<', '<');
    expect(h.lastFrame()).toContain('MET▼');
  });

  it('nodes: / filters rows as typed, /! keeps the rest, esc clears', async () => {
    h = await mount(richSnapshot(), { metrics: richMetrics(), cols: 100, rows: 30 });
    await h.press(':', 'n', 'o', 'd', 'e', 's', 'return', '/', '0', '.', '2');
    expect(h.lastFrame()).toContain('filter 0.2: 1 of 3');
    expect(h.lastFrame()).not.toContain(`${N1}  `);
    await h.press('return', '/', 'backspace', 'backspace', 'backspace', '!', 'd', 'o', 'w', 'n', 'return');
    expect(h.lastFrame()).toContain('filter !down: 2 of 3');
    expect(h.lastFrame()).not.toMatch(new RegExp(`${N3} +DN`));
    await h.press('escape');
    expect(h.lastFrame()).toMatch(new RegExp(`${N3} +DN`));
  });

  it('shard map: the cursor selects shards and the line under the map describes the selected one', async () => {
    h = await mount(richSnapshot(), { metrics: richMetrics(), cols: 100, rows: 30 });
    expect(h.lastFrame()).toContain(`▶ shard 0 stable target ${N1} current ${N1} obj 1`);
    // The map is in owner order: N1's band is 0 2 4 5 6 ... (5 is pinned), so the third step right is shard 5.
    await h.press('l', 'l');
    expect(h.lastFrame()).toContain(`▶ shard 4 stable target ${N1}`);
    await h.press('l');
    expect(h.lastFrame()).toContain(`▶ shard 5 stable pinned target ${N1}`);
    await h.press('G');
    expect(h.lastFrame()).toContain('▶ shard 11 no-target target - current -');
  });

  it('shard map: at 8192 shards cells aggregate runs; enter zooms in to single shards, esc zooms out', async () => {
    h = await mount(snapshotOf({ nodes: [N1, N2, N3], numShards: 8192, leader: N1 }), { cols: 80, rows: 24 });
    expect(h.lastFrame()).toMatch(/8192 shards by owner, \d+ per cell/);
    expect(h.lastFrame()).toMatch(/▶ shard 0 \(1 of \d+ in the cell, enter zooms\)/);
    await h.press('return');
    expect(h.lastFrame()).toContain('zoomed in, esc zooms out');
    await h.press('l');
    expect(h.lastFrame()).toContain('▶ shard 3 stable');
    await h.press('escape');
    expect(h.lastFrame()).toMatch(/\d+ per cell/);
  });

  it('shard map: m switches to the objects and calls heatmaps and back', async () => {
    h = await mount(richSnapshot(), { metrics: richMetrics(), cols: 100, rows: 30 });
    await h.press('m');
    expect(h.lastFrame()).toMatch(/objects heatmap, hottest cell \d+/);
    expect(h.lastFrame()).toContain('. cold : - = + * # % @ hot');
    await h.press('m');
    expect(h.lastFrame()).toMatch(/calls heatmap, hottest cell [\d.]+\/s/);
    await h.press('m');
    expect(h.lastFrame()).toContain('owners (m)');
  });

  it('shard map: :map from another pane shows the map in that colouring', async () => {
    h = await mount(richSnapshot(), { metrics: richMetrics(), cols: 100, rows: 30 });
    await h.press(':nodes\r', ':map calls\r');
    expect(h.lastFrame()).toMatch(/Shard map: 48 shards .* calls heatmap, hottest cell/);
    expect(h.lastFrame()).toContain('shard map: calls heatmap');
  });

  it('shard map: the filter dims shards that do not match', async () => {
    h = await mount(richSnapshot(), { cols: 100, rows: 30 });
    await h.press('/', 's', 't', 'u', 'c', 'k', 'return');
    expect(h.lastFrame()).toContain('filter stuck');
    expect(h.lastFrame()).toContain('·'.repeat(20));
    expect(h.lastFrame()).toMatch(/·!·/);
  });

  it('stuck: shards past the timeout, oldest first, with age, state, target, current and reason', async () => {
    h = await mount(richSnapshot(), { cols: 140, rows: 30 });
    await h.press('tab');
    const f = h.lastFrame();
    expect(f).toContain('Stuck: 1 past 1m00s of 2 unsettled │ <1m 0 · 1-5m 0 · 5-30m 1 · >30m 0');
    expect(f).toMatch(new RegExp(`7 +5m00s owner-dead +${N2} +${N3} +shard 7 is not claimed by ${N2}; its owner ${N3}`));
  });

  it('stuck: says so when nothing is stuck', async () => {
    h = await mount(snapshotOf({ nodes: [N1], numShards: 8 }), { cols: 100, rows: 24 });
    await h.press(':', 's', 't', 'u', 'c', 'k', 'return');
    expect(h.lastFrame()).toContain('no migration is past the stuck timeout');
  });

  it('locks: per node acquisitions, wait p99, write locks held and timeouts; the hottest shards below', async () => {
    h = await mount(richSnapshot(), { metrics: richMetrics(), cols: 100, rows: 30 });
    await h.press(':', 'l', 'o', 'c', 'k', 's', 'return');
    const f = h.lastFrame();
    expect(f).toMatch(/NODE +ACQUIRED +WAIT p99 +WLOCKS +TIMEOUTS/);
    expect(f).toMatch(new RegExp(`${N1} +1\\.0k +\\d+ms +2 +2`));
    expect(f).toMatch(/SHARD NODE +WAITS +WAITED▼ +MAX +TMO/);
    expect(f).toMatch(new RegExp(`0 ${N1} +12 +750ms +250ms +1`));
  });

  it('rebalance: why the balancer does what it does, the pause, and the history timeline; enter shows an entry', async () => {
    h = await mount(richSnapshot(), { cols: 120, rows: 30, history: richHistoryKvs() });
    await h.press(':', 'r', 'e', 'b', 'tab', 'return');
    const f = h.lastFrame();
    expect(f).toContain('state balanced: count: spread 1 within the threshold');
    expect(f).toContain(`source: published by the leader ${N1} 2s ago, strategy count`);
    expect(f).toContain('pause: none');
    expect(f).toContain('Rebalance: balanced │ history 5');
    // Moves per minute: 48 assigned two minutes ago, 2 moved a minute ago, none since.
    expect(f).toMatch(/moves\/min, last \d+m: ▁+█▂▁ max 48, total 50/);
    // Newest first: the skip, the stuck shard, the operator's pin, the rebalance, the assignment.
    const rows = lines(f).filter((l) => /^ +\d+m?\d*s /.test(l));
    expect(rows.map((l) => l.trim().split(/ +/)[1])).toEqual(['skip', 'stuck', 'pin', 'rebalance', 'assign']);
    expect(f).toMatch(/1m00s rebalance +3,13 +10\.0\.0\.1:7001 +written +move 2 shards off the fullest node/);
    expect(f).toMatch(/30s pin +5 +ops@box +written +pin 1 shards/);
    expect(f).toMatch(/2m00s assign +48 shards +10\.0\.0\.1:7001/);
    await h.press('j', 'j', 'j', 'return');
    expect(h.lastFrame()).toContain('History: rebalance');
    expect(h.lastFrame()).toContain(`${N1} → ${N2} ×2: 3,13`);
    await h.press('escape');
    expect(h.lastFrame()).not.toContain('History: rebalance');
    // The filter narrows the timeline as typed.
    await h.press('/', 'p', 'i', 'n', 'return');
    expect(h.lastFrame()).toContain('filter pin: 1 of 5');
  });

  it('a shard\'s details show its own recent history, newest first', async () => {
    h = await mount(richSnapshot(), { cols: 120, rows: 40, history: richHistoryKvs() });
    await h.press(':', 's', 'h', 'a', 'r', 'd', ' ', '3', 'return', 'return');
    const f = h.lastFrame();
    expect(f).toContain('Shard 3');
    expect(f).toContain('history        2 entries, newest first');
    expect(f).toMatch(/1m00s +rebalance +10\.0\.0\.1:7001 +move 2 shards off the fullest node/);
    expect(f).toMatch(/2m00s +assign +10\.0\.0\.1:7001 +assign 48 shards/);
    expect(f).not.toContain('pin 1 shards');
  });

  it('under an upstream leader the timeline shows the moves it sees, marked observed', async () => {
    // No nodeinfo for N1: an upstream node, which writes no history.
    const upstream = snapshotOf({ nodes: [N1, N2], numShards: 8, leader: N1 });
    h = await mount(upstream, { cols: 120, rows: 30 });
    await h.press(':', 'r', 'e', 'b', 'tab', 'return');
    expect(h.lastFrame()).toContain('no history: the leader is an upstream node');
    const moved = applyEvents(upstream, [{ type: 'put', kv: kv(`${P}/shard/2`, `${N2},${N1}`) }], upstream.revision + 1);
    h.controller.onWatcherEvent({ type: 'snapshot', snapshot: moved.snapshot, changes: moved.changes, cause: 'watch' });
    await h.settle();
    expect(h.lastFrame()).toMatch(new RegExp(`0s move +2 +${N1.replace(/\./g, '\\.')} +observed +1 shards got a new target`));
  });

  it('details list the write keys that act on what they show: x releases the stuck shard, d drains the node', async () => {
    h = await mount(richSnapshot(), { metrics: richMetrics(), cols: 120, rows: 30 });
    await h.press('tab', 'return');
    expect(h.lastFrame()).toContain('Shard 7');
    expect(h.lastFrame()).toContain('p pin/unpin · r reassign · x release · esc close');
    await h.press('x');
    expect(h.lastFrame()).toContain('Confirm: release 1 shard');
    await h.press('y');
    expect(h.writer.plans[0]!.operation).toBe('release');
    await h.press(':nodes\r', 'j', 'return');
    expect(h.lastFrame()).toContain(`Node ${N2}`);
    expect(h.lastFrame()).toContain('d drain/undrain · esc close');
    await h.press('d');
    expect(h.lastFrame()).toMatch(/Confirm: drain 10\.0\.0\.2:7001/);
  });

  it('enter on a node shows its details, esc goes back', async () => {
    h = await mount(richSnapshot(), { metrics: richMetrics(), cols: 100, rows: 30 });
    await h.press(':', 'n', 'o', 'd', 'e', 's', 'return', 'j', 'j', 'return');
    expect(h.lastFrame()).toContain(`Node ${N3}`);
    expect(h.lastFrame()).toContain('metrics        unreachable: connect ECONNREFUSED 10.0.0.3:9100');
    await h.press('escape');
    expect(h.lastFrame()).toContain('Nodes: 2/3 alive');
  });
});

describe('keys', () => {
  it('? shows help for the focused pane; the command palette switches panes and quits', async () => {
    h = await mount(richSnapshot(), { cols: 100, rows: 40 });
    await h.press('?');
    expect(h.lastFrame()).toContain('Help: Shard map');
    expect(h.lastFrame()).toContain('~ unclaimed  > migrating');
    await h.press('escape', ':', 's', 't', 'u', 'c', 'k', 'return');
    expect(h.lastFrame()).toContain('Stuck: 1 past');
    await h.press(':', 'b', 'o', 'g', 'u', 's', 'return');
    expect(h.lastFrame()).toContain('unknown command :bogus');
    expect(h.quits).toEqual([]);
    await h.press(':', 'q', 'return');
    expect(h.quits).toEqual([1]);
  });

  it('help scrolls to its last page and no further: k moves back up at once', async () => {
    h = await mount(richSnapshot(), { cols: 100, rows: 24 });
    await h.press('?', ...Array.from({ length: 50 }, () => 'j'));
    const bottom = h.lastFrame();
    // The last page is full: the dialog ends with the last commands, not with one line and blanks.
    expect(bottom).toContain(':pin <shards>');
    expect(bottom).toContain(':resume');
    await h.press('k');
    expect(h.lastFrame()).not.toBe(bottom);
  });

  it('keys typed fast (or pasted) arrive as one string and still count one by one', async () => {
    h = await mount(richSnapshot(), { cols: 100, rows: 30 });
    await h.press(':stuck\r');
    expect(h.lastFrame()).toContain('Stuck: 1 past');
    await h.press('jk\r');
    expect(h.lastFrame()).toContain('Shard 7');
  });

  it('q and ctrl-c quit; c copies the selected ID', async () => {
    h = await mount(richSnapshot(), { cols: 100, rows: 30 });
    await h.press('l', 'c');
    expect(h.copies).toEqual(['2']);
    await h.press('q');
    await h.press('ctrl-c');
    expect(h.quits).toEqual([1, 1]);
  });

  it('Z freezes the screen: new data shows only after Z again', async () => {
    const snap = richSnapshot();
    h = await mount(snap, { cols: 100, rows: 30 });
    await h.press('Z');
    expect(h.lastFrame()).toContain('FROZEN (Z)');
    const { snapshot, changes } = applyEvents(
      snap,
      [{ type: 'put', kv: { key: `${P}/shard/0`, value: `${N1},${N1},f=pinned`, modRevision: snap.revision + 1, createRevision: 1, lease: '0' } }],
      snap.revision + 1,
    );
    h.controller.onWatcherEvent({ type: 'snapshot', snapshot, changes, cause: 'watch' });
    await h.settle();
    expect(h.lastFrame()).toContain('pinned 1 │');
    await h.press('Z');
    expect(h.lastFrame()).toContain('pinned 2 │');
    expect(h.lastFrame()).not.toContain('FROZEN');
  });
});

describe('writes', () => {
  it('p asks to pin with key, old and new value; enter on the default Cancel writes nothing', async () => {
    h = await mount(richSnapshot(), { cols: 100, rows: 30 });
    await h.press('p');
    const f = h.lastFrame();
    expect(f).toContain('Confirm: pin 1 shard');
    expect(f).toContain(`key /gv/shard/0  (ModRevision`);
    expect(f).toContain(`old "${N1},${N1}"`);
    expect(f).toContain(`new "${N1},${N1},f=pinned"`);
    expect(f).toContain('[ Cancel ]   [ Confirm ]');
    await h.press('return');
    expect(h.writer.plans).toEqual([]);
    expect(h.lastFrame()).toContain('pin cancelled');
  });

  it('confirming a pin executes the core plan and reports what was written', async () => {
    h = await mount(richSnapshot(), { cols: 140, rows: 30 });
    await h.press('p', 'right', 'return');
    expect(h.writer.plans).toHaveLength(1);
    const plan = h.writer.plans[0]!;
    expect(plan.operation).toBe('pin');
    expect(plan.shardChanges.map((c) => [c.key, c.new])).toEqual([['/gv/shard/0', `${N1},${N1},f=pinned`]]);
    expect(h.lastFrame()).toContain(`pin: wrote /gv/shard/0: "${N1},${N1}" → "${N1},${N1},f=pinned" (ModRevision was`);
  });

  it('p on a pinned shard unpins it', async () => {
    h = await mount(richSnapshot(), { cols: 100, rows: 30 });
    await h.press(':', 's', 'h', 'a', 'r', 'd', ' ', '5', 'return', 'p', 'y');
    expect(h.writer.plans[0]!.operation).toBe('unpin');
    expect(h.writer.plans[0]!.shardChanges[0]!.new).toBe(`${N1},${N1}`);
  });

  it('r reassigns the selected stuck shard to a picked node', async () => {
    h = await mount(richSnapshot(), { cols: 120, rows: 30 });
    await h.press('tab', 'r');
    expect(h.lastFrame()).toContain('Reassign shard 7 to');
    expect(h.lastFrame()).toContain('▶ best node');
    await h.press('j', 'return');
    expect(h.lastFrame()).toContain('Confirm: retarget 1 shard to');
    expect(h.lastFrame()).toContain(`new "${N1},${N3}"`);
    await h.press('y');
    expect(h.writer.plans[0]!.shardChanges[0]!.after.target).toBe(N1);
  });

  describe('a reassign the balancer would undo', () => {
    /** 64 shards, N1 35 and N2 29: a spread of 6, within count's limit of 6.4. Shard 0, on N2, is N1's lowest ID once moved. */
    const edge = () =>
      snapshotOf({
        nodes: [N1, N2],
        numShards: 64,
        shards: Object.fromEntries(Array.from({ length: 64 }, (_, id) => [id, id >= 1 && id <= 35 ? `${N1},${N1}` : `${N2},${N2}`])),
        leader: N1,
        extra: [N1, N2].map((n) =>
          kv(`${P}/nodeinfo/${n}`, encodeRecord({ nodeId: n, opsUrl: 'http://x', apiUrl: 'http://x', version: 't', weight: 1, startedAt: 0, state: 'running' }), '1'),
        ),
      });

    it('says so in the dialog, and p pins the shard in the same write', async () => {
      h = await mount(edge(), { cols: 120, rows: 30 });
      await h.press('r', 'j', 'return');
      expect(h.lastFrame()).toContain('Confirm: retarget 1 shard to 10.0.0.1:7001');
      expect(h.lastFrame()).toContain('the balancer (count) would move shard 0 back at once: the cluster is near its imbalance threshold');
      expect(h.lastFrame()).toContain('p: pin it in the same write · P: pause rebalancing first');
      await h.press('p');
      expect(h.lastFrame()).toContain('Confirm: retarget 1 shard to 10.0.0.1:7001 and pin it');
      expect(h.lastFrame()).not.toContain('would move shard 0 back');
      await h.press('y');
      expect(h.writer.plans).toHaveLength(1);
      expect(h.writer.plans[0]!.shardChanges[0]!.new).toBe(`${N1},${N2},f=pinned`);
    });

    it('P offers to pause rebalancing first instead', async () => {
      h = await mount(edge(), { cols: 120, rows: 30 });
      await h.press('r', 'j', 'return', 'P');
      expect(h.lastFrame()).toContain('Confirm: pause rebalancing until');
      await h.press('y');
      expect(h.writer.plans.map((p) => p.operation)).toEqual(['pause']);
    });

    it('says nothing where the balancer keeps the shard', async () => {
      h = await mount(richSnapshot(), { cols: 120, rows: 30 });
      await h.press('tab', 'r', 'j', 'return');
      expect(h.lastFrame()).not.toContain('would move');
      await h.press('p');
      expect(h.lastFrame()).toContain('Confirm: retarget 1 shard to');
      expect(h.lastFrame()).not.toContain('and pin it');
    });
  });

  it('r with "best node" lets the core pick the target', async () => {
    h = await mount(richSnapshot(), { cols: 120, rows: 30 });
    await h.press('tab', 'r', 'return', 'y');
    const change = h.writer.plans[0]!.shardChanges[0]!;
    expect(change.shardId).toBe(7);
    expect([N1, N2]).toContain(change.after.target);
  });

  it('x releases a shard held by a dead owner', async () => {
    h = await mount(richSnapshot(), { cols: 120, rows: 30 });
    await h.press('tab', 'x');
    expect(h.lastFrame()).toContain(`old "${N2},${N3}"`);
    expect(h.lastFrame()).toContain(`new "${N2},"`);
    await h.press('y');
    expect(h.writer.plans[0]!.operation).toBe('release');
  });

  it('x on a stable shard of a live owner explains why nothing is done, and that only the CLI forces it', async () => {
    h = await mount(richSnapshot(), { cols: 200, rows: 30 });
    await h.press('x');
    expect(h.lastFrame()).toContain(
      `release: nothing to do: shard 0: not stuck (owned by alive node ${N1}, not migrating); ` +
        'forcing is only available from the CLI: goverse-top release 0 --force',
    );
    expect(h.lastFrame()).not.toContain('use --force');
    expect(h.writer.plans).toEqual([]);
  });

  it(':release of a stable and a stuck shard confirms the stuck one and says why the other is skipped', async () => {
    h = await mount(richSnapshot(), { cols: 160, rows: 30 });
    await h.press(':release 0,7\r');
    const f = h.lastFrame();
    expect(f).toContain('Confirm: release 1 shard');
    expect(f).toContain(`skipped shard 0: not stuck (owned by alive node ${N1}, not migrating)`);
    expect(f).toContain('forcing is only available from the CLI: goverse-top release 0 --force');
    expect(f).not.toContain('use --force');
  });

  it(':reassign to a dead node says the node is not alive, and that only the CLI forces it', async () => {
    h = await mount(richSnapshot(), { cols: 200, rows: 30 });
    await h.press(`:reassign 7,9 ${N3}\r`);
    expect(h.lastFrame()).toContain(
      `retarget: node ${N3} is not alive; forcing is only available from the CLI: goverse-top reassign 7,9 --to ${N3} --force`,
    );
    expect(h.lastFrame()).not.toContain('use --force');
    expect(h.writer.plans).toEqual([]);
  });

  it('d drains the selected node: the drain record and the retargets of its shards', async () => {
    h = await mount(richSnapshot(), { cols: 120, rows: 40 });
    await h.press(':', 'n', 'o', 'd', 'e', 's', 'return', 'j', 'd');
    expect(h.lastFrame()).toMatch(/Confirm: drain 10\.0\.0\.2:7001: retarget \d+ shards/);
    expect(h.lastFrame()).toContain(`key /gv/drain/${N2}`);
    await h.press('y');
    const plan = h.writer.plans[0]!;
    expect(plan.operation).toBe('drain');
    expect(plan.recordChanges[0]!.key).toBe(`/gv/drain/${N2}`);
    expect(plan.shardChanges.every((c) => c.after.target === N1)).toBe(true);
  });

  it('P pauses rebalancing (a record under a lease) and resumes a pause', async () => {
    h = await mount(richSnapshot(), { cols: 120, rows: 30 });
    await h.press('P');
    expect(h.lastFrame()).toContain('Confirm: pause rebalancing until');
    expect(h.lastFrame()).toContain('key /gv/rebalance/pause');
    await h.press('y');
    expect(h.writer.plans[0]!.recordChanges[0]!.leaseTtlSeconds).toBe(600);
    h.unmount();
    const pause = kv(`${P}/rebalance/pause`, encodeRecord({ until: NOW + 60_000, by: 'ops', at: NOW, reason: '' }));
    h = await mount(richSnapshot([pause]), { cols: 120, rows: 30 });
    await h.press('P');
    expect(h.lastFrame()).toContain('Confirm: resume rebalancing');
    expect(h.lastFrame()).toContain('new (delete)');
  });

  it(':pause refuses a pause longer than the longest allowed, and P one longer than a shorter configured limit', async () => {
    h = await mount(richSnapshot(), { cols: 140, rows: 30 });
    await h.press(':pause 48h\r');
    expect(h.lastFrame()).toContain('pause: a pause of 48h is longer than the longest allowed, 24h (GOVERSE_MAX_PAUSE)');
    expect(h.lastFrame()).not.toContain('Confirm:');
    await h.press(':pause 2h\r');
    expect(h.lastFrame()).toContain('Confirm: pause rebalancing until');
    h.unmount();
    h = await mount(richSnapshot(), { cols: 140, rows: 30, maxPauseMs: 300_000 });
    await h.press('P');
    expect(h.lastFrame()).toContain('pause: a pause of 10m is longer than the longest allowed, 5m (GOVERSE_MAX_PAUSE)');
    expect(h.writer.plans).toEqual([]);
  });

  it('a failed write is reported in the status line, and the console stays usable', async () => {
    h = await mount(richSnapshot(), { cols: 140, rows: 30, writer: new RecordingWriter(new Error('etcd unavailable: deadline exceeded')) });
    await h.press('p', 'y');
    expect(h.lastFrame()).toContain('pin failed: etcd unavailable: deadline exceeded');
    await h.press('tab');
    expect(h.lastFrame()).toContain('Stuck: 1 past');
  });

  it('read-only: write keys are hidden from hints and help and do nothing; views still work', async () => {
    h = await mount(richSnapshot(), { cols: 100, rows: 40, readOnly: true });
    expect(h.lastFrame()).toContain('READ-ONLY');
    expect(h.lastFrame()).not.toMatch(/\bp pin\b/);
    for (const k of ['p', 'r', 'x', 'P']) await h.press(k);
    expect(h.lastFrame()).not.toContain('Confirm');
    await h.press('?');
    expect(h.lastFrame()).toContain('read-only: write keys hidden');
    expect(h.lastFrame()).not.toContain('pin / unpin');
    await h.press('escape', 'tab');
    expect(h.lastFrame()).toContain('Stuck: 1 past');
    await h.press('return');
    expect(h.lastFrame()).toContain('Shard 7');
    expect(h.lastFrame()).not.toContain('p pin/unpin');
    await h.press('x', 'escape', ':rebalance\r');
    expect(h.lastFrame()).toContain('pause: none');
    expect(h.lastFrame()).not.toContain('P pauses');
    expect(h.writer.plans).toEqual([]);
  });
});

describe('without a terminal on stdin', () => {
  it('the hint line says that no key is read and how to quit', async () => {
    h = await mount(richSnapshot(), { cols: 100, rows: 24, readOnly: true, readsKeys: false });
    expect(h.lastFrame()).toContain('no keys: stdin is not a terminal · Ctrl-C quits');
    expect(h.lastFrame()).not.toContain('? help');
  });

  it('renders the read-only view and reads no keys (useInput would throw on a non-TTY stdin)', async () => {
    const { render } = await import('ink');
    const { createElement } = await import('react');
    const { EventEmitter } = await import('node:events');
    const { App } = await import('../../../src/console/ui/App.js');
    const probe = await mount(richSnapshot(), { readOnly: true, cols: 100, rows: 30 });
    const frames: string[] = [];
    const stdout = Object.assign(new EventEmitter(), { columns: 100, rows: 30, isTTY: true, write: (s: string) => frames.push(s) });
    const stdin = Object.assign(new EventEmitter(), { isTTY: false, setEncoding() {}, resume() {}, pause() {}, ref() {}, unref() {}, read: () => null });
    const app = render(createElement(App, { controller: probe.controller }), {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      debug: true,
      patchConsole: false,
      exitOnCtrlC: false,
    });
    await probe.settle();
    expect(frames.join('')).toContain('READ-ONLY');
    stdin.emit('data', 'q');
    await probe.settle();
    expect(probe.quits).toEqual([]);
    app.unmount();
    probe.unmount();
  });
});
