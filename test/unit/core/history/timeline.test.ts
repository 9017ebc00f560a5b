import { describe, expect, it } from 'vitest';
import { encodeHistoryEntry, type HistoryDraft, historyId } from '../../../../src/core/history/entry.js';
import { HistoryTimeline, movesPerMinute, observedMoves } from '../../../../src/core/history/timeline.js';
import { Keyspace } from '../../../../src/core/keyspace/keys.js';
import { HISTORY_VALUE_BOUND } from '../../../../src/core/keyspace/valueBounds.js';
import { applyEvents, buildSnapshot, type Kv } from '../../../../src/core/snapshot/snapshot.js';

const keys = new Keyspace('/gv');
const NOW = Date.UTC(2026, 0, 31, 14, 0, 0);
let rev = 1;
const kv = (key: string, value: string): Kv => ({ key, value, modRevision: rev, createRevision: rev++, lease: '0' });
const draft = (at: number, d: Partial<HistoryDraft> = {}): HistoryDraft => ({ at, actor: 'n:1', source: 'leader', action: 'rebalance', reason: 'r', outcome: 'written', ...d });
const stored = (at: number, unique: string, d: Partial<HistoryDraft> = {}): Kv => kv(keys.history(historyId(at, unique)), encodeHistoryEntry(draft(at, d)));

describe('HistoryTimeline', () => {
  it('holds entries in ID order, decoded once, and reports which are new', () => {
    const t = new HistoryTimeline(keys, 100);
    const [a, b, c] = [stored(NOW - 3000, 'a'), stored(NOW - 2000, 'b'), stored(NOW - 1000, 'c')];
    expect(t.apply({ kind: 'reset', kvs: [a, c] }).map((e) => e.id)).toEqual([historyId(NOW - 3000, 'a'), historyId(NOW - 1000, 'c')]);
    const v = t.version;
    // A late writer's entry lands in its place; a replayed put is not new.
    expect(t.apply({ kind: 'events', events: [{ type: 'put', kv: b }, { type: 'put', kv: c }] }).map((e) => e.id)).toEqual([historyId(NOW - 2000, 'b')]);
    expect(t.version).toBeGreaterThan(v);
    expect(t.entries.map((e) => e.at)).toEqual([NOW - 3000, NOW - 2000, NOW - 1000]);
    t.apply({ kind: 'events', events: [{ type: 'delete', key: a.key, modRevision: rev++ }] });
    expect(t.entries.map((e) => e.at)).toEqual([NOW - 2000, NOW - 1000]);
    // A list after a lost watch: only what was not there before is new.
    const d = stored(NOW, 'd');
    expect(t.apply({ kind: 'reset', kvs: [b, c, d] }).map((e) => e.at)).toEqual([NOW]);
  });

  it('keeps the newest entries up to its limit', () => {
    const t = new HistoryTimeline(keys, 3);
    t.apply({ kind: 'reset', kvs: Array.from({ length: 10 }, (_, i) => stored(NOW + i, `x${i}`)) });
    expect(t.entries.map((e) => e.at - NOW)).toEqual([7, 8, 9]);
  });

  it('reports malformed values like every malformed key (cut, with their size), and forgets them when fixed', () => {
    const t = new HistoryTimeline(keys, 100);
    const huge = kv(keys.history(historyId(NOW, 'big')), 'x'.repeat(HISTORY_VALUE_BOUND + 1));
    const junk = kv(keys.history('junk'), '{}');
    const garbage = kv(keys.history(historyId(NOW, 'g')), 'garbage');
    t.apply({ kind: 'reset', kvs: [huge, junk, garbage] });
    expect(t.entries).toEqual([]);
    expect([...t.malformed.values()].map((m) => [m.key, m.reason.slice(0, 20), m.size])).toEqual([
      [huge.key, 'value of 16 KiB exce', HISTORY_VALUE_BOUND + 1],
      [junk.key, 'history ID "junk" is', 2],
      [garbage.key, 'not JSON: Unexpected', 7],
    ]);
    expect(t.malformed.get(huge.key)!.raw).toHaveLength(512);
    t.apply({ kind: 'events', events: [{ type: 'put', kv: { ...garbage, value: encodeHistoryEntry(draft(NOW)) } }, { type: 'delete', key: junk.key, modRevision: rev++ }] });
    expect([...t.malformed.keys()]).toEqual([huge.key]);
    expect(t.entries).toHaveLength(1);
  });

  it('shows observed moves among the stored entries, marked, and keeps them across a new list', () => {
    const t = new HistoryTimeline(keys, 100);
    t.apply({ kind: 'reset', kvs: [stored(NOW - 1000, 'a')] });
    t.observe(draft(NOW, { source: 'observed', action: 'move', moves: [{ shard: 3, from: 'a:1', to: 'b:1' }], outcome: 'observed' }));
    t.apply({ kind: 'reset', kvs: [stored(NOW - 1000, 'a')] });
    expect(t.entries.map((e) => [e.source, e.action])).toEqual([
      ['leader', 'rebalance'],
      ['observed', 'move'],
    ]);
  });
});

describe('moves per minute', () => {
  it('sums the shards moved per minute, moves made only (not a stuck entry\'s pending ones)', () => {
    const t = new HistoryTimeline(keys, 100);
    const moves = (n: number) => Array.from({ length: n }, (_, i) => ({ shard: i, from: 'a:1', to: 'b:1' }));
    t.apply({
      kind: 'reset',
      kvs: [
        stored(NOW - 11 * 60_000, 'old', { moves: moves(99) }),
        stored(NOW - 2 * 60_000 + 5, 'r', { moves: moves(5) }),
        stored(NOW - 2 * 60_000 + 9, 'o', { source: 'cli', action: 'reassign', moves: moves(2) }),
        stored(NOW - 60_000, 's', { action: 'stuck', moves: moves(7) }),
        stored(NOW + 5, 'd', { action: 'drain', moves: moves(3) }),
      ],
    });
    expect(movesPerMinute(t.entries, NOW + 10, 10)).toEqual([0, 0, 0, 0, 0, 0, 0, 7, 0, 3]);
  });

  it('finds the moves in a batch of shard changes: a new target, not a claim', () => {
    const snap = buildSnapshot('/gv', 4, [kv('/gv/shard/0', 'a:1,a:1'), kv('/gv/shard/1', 'a:1,a:1')], rev++);
    const { changes } = applyEvents(
      snap,
      [
        { type: 'put', kv: kv('/gv/shard/0', 'b:1,a:1') },
        { type: 'put', kv: kv('/gv/shard/1', 'a:1,') },
        { type: 'put', kv: kv('/gv/shard/2', 'c:1,') },
      ],
      rev,
    );
    expect(observedMoves(changes)).toEqual([
      { shard: 0, from: 'a:1', to: 'b:1' },
      { shard: 2, from: '', to: 'c:1' },
    ]);
  });
});
