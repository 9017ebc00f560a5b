/**
 * One meaning of "migrating" (a shard owned by one alive node and targeted at another) wherever a figure is called
 * that: the status document, the console's header and its stuck pane.
 */
import { describe, expect, it } from 'vitest';
import { statusDocument } from '../../../../src/cli/commands/status.js';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import { buildClusterView } from '../../../../src/core/view/index.js';
import { headerLines } from '../../../../src/console/model/header.js';
import { stuckTitle } from '../../../../src/console/model/stuckPane.js';
import { createTheme } from '../../../../src/console/theme.js';
import { kv, N1, N2, N3, NOW, P, snapshotOf } from '../../console/fixtures.js';

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

describe('malformed keys', () => {
  it('are counted and listed by the status document and named in the console header', () => {
    const snapshot = snapshotOf({
      nodes: [N1, N2],
      numShards: 16,
      leader: N1,
      extra: [kv(`${P}/shard/+7`, `${N3},${N3}`), kv(`${P}/nodes/${N3}`, N3)],
    });
    const view = buildClusterView({ snapshot, now: NOW, stuckTimeoutMs: 60_000, balancer: { strategy: 'count', settings: defaultPlannerSettings(16) } });
    const doc = statusDocument(view);
    expect(doc).toMatchObject({ malformed: 2, nodes: { alive: 2, rejected: 1 } });
    expect(doc.malformedKeys).toEqual([
      { key: `${P}/nodes/${N3}`, value: N3, size: N3.length, reason: 'node key has no lease: not a live node' },
      { key: `${P}/shard/+7`, value: `${N3},${N3}`, size: 2 * N3.length + 1, reason: 'shard ID "+7" is not a canonical decimal number' },
    ]);
    const connection = { endpoints: ['127.0.0.1:2379'], status: { kind: 'synced', revision: 1, since: NOW } as const, reconnects: 0 };
    const header = headerLines(view, connection, { frozen: false, readOnly: null }, createTheme(false)).join('\n');
    expect(header).toContain('nodes 2 alive (1 rejected)');
    expect(header).toContain('malformed 2 keys');
  });
});

