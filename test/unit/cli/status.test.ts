/**
 * One meaning of "migrating" (a shard owned by one alive node and targeted at another) wherever a figure is called
 * that: the status document, the console's header and its stuck pane. Upstream processes in the cluster, told the
 * same way in the status document, the header and the console's hints.
 */
import { describe, expect, it } from 'vitest';
import { statusDocument } from '../../../src/cli/commands/status.js';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { defaultPlannerSettings } from '../../../src/core/planner/settings.js';
import { buildClusterView } from '../../../src/core/view/index.js';
import { headerLines } from '../../../src/console/model/header.js';
import { stuckTitle } from '../../../src/console/model/stuckPane.js';
import { createTheme } from '../../../src/console/theme.js';
import { kv, N1, N2, N3, NOW, P, richHistory, richSnapshot, snapshotOf } from '../console/fixtures.js';
import { buildFrame } from '../../../src/console/model/frame.js';
import { initialUi } from '../../../src/console/model/ui.js';
import { planFailureText } from '../../../src/console/model/writes.js';
import { planOperation } from '../../../src/core/operations/operations.js';
import type { Kv } from '../../../src/core/snapshot/snapshot.js';

describe('migrating', () => {
  it('counts the same shards in the status document, the console header and the stuck pane', () => {
    // Ten shards pinned to the dead N3 (stuck, target = current), one migrating from N2 to N1, one unclaimed by N1.
    const shards: Record<number, string> = { 12: `${N1},${N2}`, 13: `${N1},` };
    for (let id = 0; id < 10; id++) shards[id] = `${N3},${N3},f=pinned`;
    const snapshot = snapshotOf({
      nodes: [N1, N2],
      numShards: 32,
      shards,
      leader: N1,
      extra: Array.from({ length: 10 }, (_, id) => kv(`${P}/migration/${id}`, encodeRecord({ since: NOW - 120_000, target: N3, from: N3 }))),
    });
    const view = buildClusterView({
      snapshot,
      now: NOW,
      stuckTimeoutMs: 60_000,
      balancer: { strategy: 'count', settings: defaultPlannerSettings(32) },
    });
    const migrating = (statusDocument(view).shards as { migrating: number }).migrating;
    expect(migrating).toBe(1);
    const connection = { endpoints: ['127.0.0.1:2379'], status: { kind: 'synced', revision: 1, since: NOW } as const, reconnects: 0 };
    const header = headerLines(view, connection, { frozen: false, readOnly: null }, createTheme(false)).join('\n');
    const title = stuckTitle(view);
    expect(title).toMatch(/^10 past 1m00s of 12 unsettled │/);
    // Every figure called migrating is that one.
    for (const text of [header, title]) {
      for (const m of text.matchAll(/(\d+) migrating|migrating (\d+)/g)) expect(Number(m[1] ?? m[2]), text).toBe(migrating);
    }
    expect(header).toContain('migrating 1');
  });
});

describe('upstream processes in the cluster', () => {
  const UP = '10.0.0.9:48000';
  const GATE = '10.0.0.9:49000';
  const info = (address: string) =>
    kv(`${P}/nodeinfo/${address}`, encodeRecord({ nodeId: address, opsUrl: '', apiUrl: `http://${address}`, version: '1', weight: 1, startedAt: 0, state: 'running' }));
  /** N1 and N2 are goverse-nodes (nodeinfo); UP is an upstream node and leads; 16 shards, round-robin. */
  const mixed = (extra: Kv[] = [kv(`${P}/gates/${GATE}`, GATE, '1')]) =>
    buildClusterView({
      snapshot: snapshotOf({ nodes: [N1, N2, UP], numShards: 16, leader: UP, extra: [info(N1), info(N2), ...extra] }),
      now: NOW,
      stuckTimeoutMs: 60_000,
      balancer: { strategy: 'count', settings: defaultPlannerSettings(16) },
    });
  const theme = createTheme(false);
  const connection = { endpoints: ['127.0.0.1:2379'], status: { kind: 'synced', revision: 1, since: NOW } as const, reconnects: 0 };

  it("counts the goverse-nodes' shards as unreachable from upstream callers in status and the header", () => {
    const view = mixed();
    // Shards i % 3 == 0 and 1 are on N1 and N2: 6 + 5 of 16.
    expect(statusDocument(view).upstream).toEqual({ nodes: 1, gates: 1, leader: UP, unreachableShards: 11, unreachableOwners: [N1, N2] });
    const header = headerLines(view, connection, { frozen: false, readOnly: null }, theme).join('\n');
    expect(header).toContain(`leader ${UP} (upstream)`);
    expect(header).toContain('unreachable from upstream 11');
    // The drain and pause hints go: an upstream leader ignores both.
    const prompt = buildFrame({ view, connection, ui: { ...initialUi({ readOnly: false }), focus: 'nodes' }, cols: 200, rows: 30, theme, history: richHistory(), readOnlyReason: null }).prompt;
    expect(prompt).not.toMatch(/\bd drain|P pause/);
    expect(buildFrame({ view: richView(), connection, ui: { ...initialUi({ readOnly: false }), focus: 'nodes' }, cols: 200, rows: 30, theme, history: richHistory(), readOnlyReason: null }).prompt).toMatch(/d drain/);
    // And what a drain says in the console: what the leader ignores and which keys work instead.
    const refused = (() => {
      try {
        planOperation({ kind: 'drain', node: N1 }, { snapshot: view.snapshot, now: NOW, by: 't' });
      } catch (err) {
        return planFailureText({ kind: 'drain', node: N1 }, err);
      }
      throw new Error('drain was not refused');
    })();
    expect(refused).toBe(`drain refused: the leader ${UP} is an upstream Goverse node, which ignores drain marks (it would move shards back); pin shards (p) and reassign them (r) instead`);
  });

  it('counts stuck shards of unknown age in a bucket of their own in the stuck pane', () => {
    // Pinned to the dead N3 without a migration record (as upstream leaves it): stuck by its state, age unknown.
    const view = buildClusterView({
      snapshot: snapshotOf({ nodes: [N1], numShards: 4, leader: N1, shards: { 0: `${N3},${N3},f=pinned` } }),
      now: NOW,
      stuckTimeoutMs: 60_000,
      balancer: { strategy: 'count', settings: defaultPlannerSettings(4) },
    });
    expect(stuckTitle(view)).toBe('1 past 1m00s of 1 unsettled │ <1m 0 · 1-5m 0 · 5-30m 0 · >30m 0 · ? 1 │ * pinned');
    expect(statusDocument(view).shards).toMatchObject({ stuck: 1, orphaned: 1 });
  });

  it('says nothing of the kind in a cluster of goverse-nodes only, or without goverse-node shards', () => {
    const ours = richView();
    expect(statusDocument(ours).upstream).toEqual({ nodes: 0, gates: 0, leader: null, unreachableShards: 0, unreachableOwners: [] });
    expect(headerLines(ours, connection, { frozen: false, readOnly: null }, theme).join('\n')).not.toMatch(/upstream/);
    // A gate alone is an upstream caller too (goverse has no gate), and the leader N1 is ours.
    const gateOnly = buildClusterView({
      snapshot: snapshotOf({ nodes: [N1], numShards: 4, leader: N1, extra: [info(N1), kv(`${P}/gates/${GATE}`, GATE, '1')] }),
      now: NOW,
      stuckTimeoutMs: 60_000,
      balancer: { strategy: 'count', settings: defaultPlannerSettings(4) },
    });
    expect(statusDocument(gateOnly).upstream).toMatchObject({ nodes: 0, gates: 1, leader: null, unreachableShards: 4 });
  });
});

function richView() {
  return buildClusterView({ snapshot: richSnapshot(), now: NOW, stuckTimeoutMs: 60_000, balancer: { strategy: 'count', settings: defaultPlannerSettings(48) } });
}
