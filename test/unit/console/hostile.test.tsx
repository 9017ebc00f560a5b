/**
 * Whoever can write etcd or answer a scrape must not reach the operator's terminal: node keys, nodeinfo values,
 * balancer and pause records and metrics text carrying escape sequences (a title change, a screen clear, an OSC 52
 * clipboard write, the C1 CSI, a bidi override) show escaped in every pane, detail and dialog of the real console.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { type Harness, kv, mount, N1, N2, NOW, P, richMetrics, snapshotOf } from './fixtures.js';

const EVIL = '\u001b]0;evil\u0007\u001b[2J\u001b]52;c;ZXZpbA==\u0007\u009b31m\u202e';
const SHOWN = '\\x1b]0;evil\\x07\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07\\u009b31m\\u202e';
const BAD = `10.6.6.6:1${EVIL}`;
/** After the fixtures strip the console's own SGR codes, none of these may remain (line breaks apart). */
// eslint-disable-next-line no-control-regex -- the very characters that must not get through
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;

let h: Harness | null = null;
afterEach(() => {
  h?.unmount();
  h = null;
});

function hostileSnapshot() {
  const shards: Record<number, string> = { 0: `${BAD},${BAD}`, 1: `${N1},${BAD}`, 2: `${BAD},${N2},f=pinned` };
  return snapshotOf({
    nodes: [N1, N2, BAD],
    numShards: 24,
    shards,
    leader: N1,
    extra: [
      kv(
        `${P}/nodeinfo/${N1}`,
        encodeRecord({ nodeId: `id${EVIL}`, opsUrl: '', apiUrl: `http://${N1}`, version: `v${EVIL}`, weight: 1, startedAt: NOW, state: 'running' }),
        '1',
      ),
      kv(`${P}/rebalance/pause`, encodeRecord({ until: NOW + 600_000, by: 'op\u202e', at: NOW, reason: `why${EVIL}` }), '1'),
      kv(
        `${P}/rebalance/status`,
        encodeRecord({
          leader: N1,
          strategy: 'count',
          state: 'balanced',
          reason: `reason${EVIL}`,
          at: NOW - 1000,
          recent: [{ at: NOW - 5000, strategy: 'count', outcome: 'rebalance', reason: `moved${EVIL}`, moves: [{ shard: 1, from: BAD, to: N1 }] }],
        }),
        '1',
      ),
    ],
  });
}

/** A history entry written by someone with etcd access: every string of it hostile, its unknown field too. */
function hostileHistory() {
  const entry = {
    at: NOW - 5000,
    actor: `op${EVIL}`,
    source: 'leader',
    action: `act${EVIL}`,
    moves: [{ from: BAD, to: N1, shards: '1', count: 1 }],
    reason: `moved${EVIL}`,
    outcome: `out${EVIL}`,
    extra: `field${EVIL}`,
  };
  return [kv(`${P}/history/${String(NOW - 5000).padStart(13, '0')}-evil`, JSON.stringify(entry))];
}

function hostileMetrics() {
  const metrics = richMetrics();
  metrics.set(N2, { kind: 'malformed', url: `http://10.0.0.2:9100/metrics`, atMs: NOW, reason: `line 3: invalid le "${EVIL}"`, lastOk: null });
  return metrics;
}

describe('strings from etcd and the nodes on the console', () => {
  it('never reach the terminal raw: every pane, detail and dialog shows them escaped, within the width', async () => {
    const cols = 120;
    h = await mount(hostileSnapshot(), { metrics: hostileMetrics(), cols, rows: 40, color: true, history: hostileHistory() });
    const frames: string[] = [];
    const look = (): void => void frames.push(h!.lastFrame());
    look();
    for (let pane = 0; pane < 4; pane++) {
      await h.press('tab');
      look();
    }
    // Details of the node with hostile nodeinfo, of the one with hostile metrics text, and of the hostile node, whose
    // drain dialog names its keys.
    await h.press(':nodes\r', 'g', 'return');
    look();
    await h.press('escape', 'j', 'return');
    look();
    await h.press('escape', 'G', 'return');
    look();
    await h.press('d');
    look();
    // A shard whose value names the hostile node (its details list its history), and the entry that moved one off it.
    await h.press('escape', 'escape', ':shard 1\r', 'return');
    look();
    await h.press('escape', ':rebalance\r', 'return');
    look();

    for (const frame of frames) {
      expect(frame).not.toMatch(RAW);
      for (const line of frame.split('\n')) expect(line.length, line).toBeLessThanOrEqual(cols);
    }
    const all = frames.join('\n');
    for (const shown of ['op\\u202e', `id${SHOWN}`, `v${SHOWN}`, `why${SHOWN}`, `reason${SHOWN}`, `moved${SHOWN}`, `act${SHOWN}`]) {
      expect(all, shown).toContain(shown.slice(0, 60));
    }
    expect(all).toContain('invalid le "\\x1b]0;evil');
    // A field this version does not know is shown as stored, as JSON (its escapes are JSON's).
    expect(all).toContain('{"extra":"field\\u001b]0;evil\\u0007');
  });
});
