import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHistoryEntry,
  ENTRY_BOUND,
  encodeHistoryEntry,
  type HistoryDraft,
  historyId,
  touchesNode,
  touchesShards,
} from '../../../../src/core/history/entry.js';
import { HISTORY_ID, Keyspace } from '../../../../src/core/keyspace/keys.js';
import { utf8Length } from '../../../../src/core/keyspace/valueBounds.js';

const AT = 1_767_268_800_000;
const ID = historyId(AT, 'ab12');
const draft = (d: Partial<HistoryDraft> = {}): HistoryDraft => ({
  at: AT,
  actor: 'alice@ops-1',
  source: 'cli',
  action: 'pin',
  shards: [1, 2, 3, 9],
  reason: 'pin 4 shards',
  outcome: 'written',
  ...d,
});
const decode = (text: string) => {
  const d = decodeHistoryEntry(ID, text);
  if (!d.ok) throw new Error(d.reason);
  return d.record;
};

describe('history entry IDs', () => {
  it('begin with 13 digits of time, so keys sort by time, and are a history key of their own', () => {
    expect(ID).toBe('1767268800000-ab12');
    expect(historyId(5, 'x')).toBe('0000000000005-x');
    expect(HISTORY_ID.test(ID)).toBe(true);
    expect(historyId(AT - 1, 'zz') < historyId(AT, '00')).toBe(true);
    const keys = new Keyspace('/gv');
    expect(keys.history(ID)).toBe('/gv/history/1767268800000-ab12');
    expect(keys.classify(keys.history(ID), 8)).toEqual({ kind: 'history', id: ID });
    expect(keys.classify('/gv/history/junk', 8)).toEqual({ kind: 'history', id: 'junk' });
  });
});

describe('history entry codec', () => {
  it('round-trips an operator action: shards as a list, node, reason, outcome', () => {
    const e = decode(encodeHistoryEntry(draft({ node: '10.0.0.1:7001' })));
    expect(e).toMatchObject({ id: ID, at: AT, actor: 'alice@ops-1', source: 'cli', action: 'pin', node: '10.0.0.1:7001', reason: 'pin 4 shards', outcome: 'written' });
    expect(e.shards).toEqual([[1, 3], [9, 9]]);
    expect(e.shardCount).toBe(4);
    expect(e.unknown).toEqual({});
  });

  it('groups moves by node pair, largest group first', () => {
    const moves = [
      { shard: 4, from: 'a:1', to: 'b:1' },
      { shard: 7, from: '', to: 'c:1' },
      { shard: 5, from: 'a:1', to: 'b:1' },
    ];
    const e = decode(encodeHistoryEntry(draft({ action: 'rebalance', shards: undefined, moves })));
    expect(e.moves).toEqual([
      { from: 'a:1', to: 'b:1', shards: [[4, 5]], count: 2 },
      { from: '', to: 'c:1', shards: [[7, 7]], count: 1 },
    ]);
    expect(e.shardCount).toBe(3);
    expect(touchesShards(e, [[7, 7]])).toBe(true);
    expect(touchesShards(e, [[6, 6]])).toBe(false);
    expect(touchesNode(e, 'a:1')).toBe(true);
    expect(touchesNode(e, 'd:1')).toBe(false);
  });

  it('stays within its bound whatever it is given: lists cut at a comma, the count kept; strings cut; groups limited', () => {
    const every2nd = Array.from({ length: 4096 }, (_, i) => 2 * i);
    const long = 'x'.repeat(5000);
    const moves = Array.from({ length: 4000 }, (_, i) => ({ shard: 2 * i, from: `${long.slice(0, 250)}${i % 40}:1`, to: `b${i % 50}:1` }));
    const text = encodeHistoryEntry(draft({ shards: every2nd, moves, actor: long, reason: long, node: long }));
    expect(utf8Length(text)).toBeLessThanOrEqual(ENTRY_BOUND);
    const e = decode(text);
    expect(e.shardCount).toBe(4096 + 4000);
    expect(e.shards.length).toBeGreaterThan(100);
    expect(e.shards.length).toBeLessThan(4096);
    expect(e.moves.length).toBe(16);
    expect(e.actor.length).toBe(255);
    expect(e.actor.endsWith('…')).toBe(true);
    expect(e.reason.length).toBe(512);
  });

  it('stays within its bound for any strings (escapes and multi-byte text included)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000, unit: 'grapheme' }), fc.string({ maxLength: 600, unit: 'binary' }), (reason, actor) => {
        const moves = Array.from({ length: 40 }, (_, i) => ({ shard: i, from: `${actor}${i}`, to: actor }));
        const text = encodeHistoryEntry(draft({ reason, actor, moves, node: actor }));
        expect(utf8Length(text)).toBeLessThanOrEqual(ENTRY_BOUND);
        expect(decodeHistoryEntry(ID, text).ok).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('keeps fields and actions it does not know, as stored', () => {
    const e = decode(JSON.stringify({ at: AT, actor: 'x', action: 'reshard-split', phase: 'copy', pairs: [1, 2], outcome: 'started' }));
    expect(e.action).toBe('reshard-split');
    expect(e.unknown).toEqual({ phase: 'copy', pairs: [1, 2] });
    expect(e.stored).toMatchObject({ phase: 'copy', action: 'reshard-split' });
    expect(e).toMatchObject({ source: '', reason: '', node: null, shardCount: 0, moves: [] });
  });

  it('reports what it cannot use, never throws', () => {
    const bad: [string, string, RegExp][] = [
      [ID, 'not json', /not JSON/],
      [ID, '[1]', /not a JSON object/],
      [ID, '{"actor":"x","action":"pin"}', /"at"/],
      [ID, `{"at":${AT},"action":"pin"}`, /"actor"/],
      [ID, `{"at":${AT},"actor":"x","action":"pin","shards":"1-x"}`, /"shards"/],
      [ID, `{"at":${AT},"actor":"x","action":"pin","shards":"5-1"}`, /"shards"/],
      [ID, `{"at":${AT},"actor":"x","action":"pin","moves":[{"from":"a"}]}`, /"moves"/],
      [ID, `{"at":${AT},"actor":"x","action":"pin","reason":7}`, /"reason"/],
      [ID, `{"at":${AT},"actor":"x","action":"pin","shardCount":-1}`, /"shardCount"/],
      ['17-x', `{"at":${AT},"actor":"x","action":"pin"}`, /history ID/],
      ['1767268800000-UPPER', `{"at":${AT},"actor":"x","action":"pin"}`, /history ID/],
    ];
    for (const [id, raw, reason] of bad) {
      const d = decodeHistoryEntry(id, raw);
      expect(d.ok, raw).toBe(false);
      if (!d.ok) expect(d.reason).toMatch(reason);
    }
    fc.assert(fc.property(fc.string(), (raw) => void decodeHistoryEntry(ID, raw)));
  });
});
