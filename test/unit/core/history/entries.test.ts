import { describe, expect, it } from 'vitest';
import { decodeHistoryEntry, encodeHistoryEntry, type HistoryDraft, historyId } from '../../../../src/core/history/entry.js';
import { entryJson, movesText, reasonText, shardsText } from '../../../../src/core/history/entryText.js';
import { decisionEntry, SkipReasons, stuckEntries } from '../../../../src/core/history/leaderEntries.js';
import { operationEntry } from '../../../../src/core/history/operationEntry.js';
import { planOperation } from '../../../../src/core/operations/operations.js';
import type { LeaderDecision } from '../../../../src/core/planner/leaderStep.js';
import type { ShardWrite } from '../../../../src/core/planner/plan.js';
import { findStuck } from '../../../../src/core/planner/stuck.js';
import { cluster, put, roundRobinValue } from '../planner/fixtures.js';

const NOW = Date.UTC(2026, 0, 31, 14, 0, 0);
const NODES = ['a:1', 'b:1', 'c:1'];
const snap = () => cluster({ numShards: 12, nodes: NODES, shards: roundRobinValue(NODES) });
const who = { actor: 'alice@ops-1', source: 'cli' as const };
const all = (n: number) => new Set(Array.from({ length: n }, (_, i) => i));
const decoded = (d: HistoryDraft) => {
  const r = decodeHistoryEntry(historyId(d.at, 'x'), encodeHistoryEntry(d));
  if (!r.ok) throw new Error(r.reason);
  return r.record;
};

describe('operator entries', () => {
  it('a pin lists its shards; a reassign its moves and the node named; the action is the CLI\'s word', () => {
    const pin = planOperation({ kind: 'pin', shards: [1, 2, 4] }, { snapshot: snap(), now: NOW, by: who.actor });
    expect(operationEntry(pin, { shards: all(3), records: new Set() }, who, NOW)).toEqual({
      at: NOW,
      ...who,
      action: 'pin',
      shards: [1, 2, 4],
      reason: 'pin 3 shards',
      outcome: 'written',
    });
    const reassign = planOperation({ kind: 'retarget', shards: [0, 1], to: 'c:1', refusals: 'refuse' }, { snapshot: snap(), now: NOW, by: who.actor });
    expect(operationEntry(reassign, { shards: all(2), records: new Set() }, who, NOW)).toMatchObject({
      action: 'reassign',
      node: 'c:1',
      moves: [
        { shard: 0, from: 'a:1', to: 'c:1' },
        { shard: 1, from: 'b:1', to: 'c:1' },
      ],
    });
  });

  it('a drain names its node and its moves; a pause keeps the operator\'s reason', () => {
    const drain = planOperation({ kind: 'drain', node: 'a:1' }, { snapshot: snap(), now: NOW, by: who.actor });
    const e = operationEntry(drain, { shards: all(drain.shardChanges.length), records: new Set([0]) }, who, NOW)!;
    expect(e).toMatchObject({ action: 'drain', node: 'a:1', outcome: 'written', reason: 'drain a:1: retarget 4 shards' });
    expect(e.moves!.map((m) => m.from)).toEqual(['a:1', 'a:1', 'a:1', 'a:1']);
    const pause = planOperation({ kind: 'pause', forMs: 600_000, reason: 'deploy' }, { snapshot: snap(), now: NOW, by: who.actor });
    expect(operationEntry(pause, { shards: new Set(), records: new Set([0]) }, who, NOW)).toMatchObject({
      action: 'pause',
      reason: `pause rebalancing until ${new Date(NOW + 600_000).toISOString()}: deploy`,
    });
  });

  it('says when only part was written, and gives nothing when nothing was', () => {
    const pin = planOperation({ kind: 'pin', shards: [1, 2, 4] }, { snapshot: snap(), now: NOW, by: who.actor });
    expect(operationEntry(pin, { shards: new Set([0, 2]), records: new Set() }, who, NOW)).toMatchObject({
      shards: [1, 4],
      outcome: 'partial',
      reason: 'pin 3 shards (2 of 3 changes written)',
    });
    expect(operationEntry(pin, { shards: new Set(), records: new Set() }, who, NOW)).toBeNull();
  });
});

describe('leader entries', () => {
  const write = (shardId: number, from: string, to: string, current = from): ShardWrite => ({
    shardId,
    expectedModRevision: 1,
    before: { target: from, current, flags: [] },
    after: { target: to, current, flags: [] },
  });
  const rebalance: LeaderDecision = { step: 'rebalance', strategy: 'count', writes: [write(1, 'a:1', 'b:1'), write(2, 'a:1', 'b:1')], text: 'move 2 shards' };

  it('a decision: target changes as moves, partial when some planned writes were not made, null when idle or nothing written', () => {
    expect(decisionEntry(rebalance, { writes: rebalance.writes, others: [], planned: 2 }, 'a:1', NOW)).toEqual({
      at: NOW,
      actor: 'a:1',
      source: 'leader',
      action: 'rebalance',
      moves: [
        { shard: 1, from: 'a:1', to: 'b:1' },
        { shard: 2, from: 'a:1', to: 'b:1' },
      ],
      reason: 'move 2 shards',
      outcome: 'written',
    });
    expect(decisionEntry(rebalance, { writes: [rebalance.writes[0]!], others: [], planned: 2 }, 'a:1', NOW)).toMatchObject({
      outcome: 'partial',
      reason: 'move 2 shards (1 of 2 written)',
    });
    expect(decisionEntry(rebalance, { writes: [], others: [], planned: 2 }, 'a:1', NOW)).toBeNull();
    const recover: LeaderDecision = { step: 'recover', actions: [], text: 'recover 2 stuck shards' };
    expect(decisionEntry(recover, { writes: [write(3, 'b:1', 'b:1', 'c:1')], others: [5], planned: 2 }, 'a:1', NOW)).toMatchObject({
      action: 'recover',
      shards: [3, 5],
    });
  });

  it('a reason to do nothing is recorded when it changes, not on every pass; an acting pass in between changes nothing', () => {
    const skips = new SkipReasons();
    const idle = (reason: 'balanced' | 'not-stable', text: string = reason): LeaderDecision => ({ step: 'idle', reason, text, until: null });
    expect(skips.next(idle('not-stable', 'changed 1s ago'), 'a:1', NOW)).toMatchObject({ action: 'skip', reason: 'not-stable: changed 1s ago', outcome: 'skipped' });
    expect(skips.next(idle('not-stable', 'changed 2s ago'), 'a:1', NOW)).toBeNull();
    expect(skips.next(idle('balanced'), 'a:1', NOW)).not.toBeNull();
    expect(skips.next(rebalance, 'a:1', NOW)).toBeNull();
    expect(skips.next(idle('balanced'), 'a:1', NOW)).toBeNull();
    skips.reset();
    expect(skips.next(idle('balanced'), 'a:1', NOW)).not.toBeNull();
  });

  it('stuck episodes: one entry per state with the pending moves, one for those no longer stuck', () => {
    let s = cluster({ numShards: 4, nodes: ['a:1'], shards: (id) => (id < 2 ? { target: 'a:1', current: 'gone:1', flags: [] } : { target: 'a:1', current: 'a:1', flags: [] }) });
    s = put(s, 'migration/0', JSON.stringify({ since: NOW - 600_000, target: 'a:1', from: 'gone:1' }));
    s = put(s, 'migration/1', JSON.stringify({ since: NOW - 600_000, target: 'a:1', from: 'gone:1' }));
    const stuck = findStuck(s, new Map(), NOW, 60_000);
    const entries = stuckEntries(stuck, [3], 'a:1', NOW);
    expect(entries.map((e) => [e.action, e.outcome])).toEqual([
      ['stuck', 'detected'],
      ['unstuck', 'resolved'],
    ]);
    expect(entries[0]!.reason).toMatch(/^2 owner-dead: /);
    expect(entries[0]!.moves).toEqual([
      { shard: 0, from: 'gone:1', to: 'a:1' },
      { shard: 1, from: 'gone:1', to: 'a:1' },
    ]);
    expect(entries[1]!.shards).toEqual([3]);
  });
});

describe('entries in words', () => {
  it('shard lists when short and whole, else a count; moves by pair; unknown fields appended as stored', () => {
    const e = decoded({ at: NOW, actor: 'a:1', source: 'leader', action: 'rebalance', moves: [{ shard: 3, from: 'a:1', to: 'b:1' }, { shard: 4, from: '', to: 'b:1' }], reason: 'r', outcome: 'written' });
    expect(shardsText(e, 10)).toBe('3,4');
    expect(shardsText(e, 2)).toBe('2 shards');
    expect(movesText(e, 100)).toBe('a:1→b:1 ×1, -→b:1 ×1');
    expect(movesText(e, 10)).toBe('a:1→b:1 ×…');
    const many = decoded({ at: NOW, actor: 'x', source: 'cli', action: 'pin', shards: Array.from({ length: 3000 }, (_, i) => 2 * i), reason: 'r', outcome: 'written' });
    expect(shardsText(many, 20)).toBe('3000 shards (list cut)');
    const odd = decodeHistoryEntry(historyId(NOW, 'y'), JSON.stringify({ at: NOW, actor: 'x', action: 'split', reason: 'r', phase: 2 }));
    if (!odd.ok) throw new Error(odd.reason);
    expect(reasonText(odd.record)).toBe('r {"phase":2}');
    expect(entryJson(odd.record)).toEqual({ at: NOW, actor: 'x', action: 'split', reason: 'r', phase: 2, id: historyId(NOW, 'y'), time: '2026-01-31T14:00:00.000Z' });
  });
});
