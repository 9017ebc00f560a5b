import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../../src/core/errors.js';
import { decodeHistoryEntry, encodeHistoryEntry, type HistoryDraft, historyId } from '../../../../src/core/history/entry.js';
import { matchesHistory, parseActions, parseSince } from '../../../../src/core/history/filter.js';

const NOW = Date.UTC(2026, 0, 31, 14, 0, 0);
function entry(d: Partial<HistoryDraft>) {
  const full: HistoryDraft = { at: NOW, actor: 'alice@ops-1', source: 'cli', action: 'pin', reason: '', outcome: 'written', ...d };
  const r = decodeHistoryEntry(historyId(full.at, 'a'), encodeHistoryEntry(full));
  if (!r.ok) throw new Error(r.reason);
  return r.record;
}

describe('history filters', () => {
  it('--since takes a duration back from now or a time (UTC without an offset)', () => {
    expect(parseSince('30m', NOW)).toBe(NOW - 1_800_000);
    expect(parseSince('1h30m', NOW)).toBe(NOW - 5_400_000);
    expect(parseSince('2026-01-31T13:00:00Z', NOW)).toBe(NOW - 3_600_000);
    expect(parseSince('2026-01-31T13:00:00', NOW)).toBe(NOW - 3_600_000);
    expect(parseSince('2026-01-31 13:00', NOW)).toBe(NOW - 3_600_000);
    expect(parseSince('2026-01-31T15:00:00+02:00', NOW)).toBe(NOW - 3_600_000);
    expect(parseSince('2026-01-31', NOW)).toBe(NOW - 14 * 3_600_000);
    for (const bad of ['yesterday', '-5m', '2026-13-45', '2026-01-31T25:00:00Z', '']) {
      expect(() => parseSince(bad, NOW), bad).toThrow(InvalidArgumentError);
    }
  });

  it('--action takes action names, known or not', () => {
    expect(parseActions('pin,drain')).toEqual(['pin', 'drain']);
    expect(parseActions('reshard-split')).toEqual(['reshard-split']);
    expect(() => parseActions('pin,')).toThrow(InvalidArgumentError);
    expect(() => parseActions('Pin')).toThrow(InvalidArgumentError);
  });

  it('matches on time, action, a part of the actor, the node (its own or a move) and shards (listed or moved)', () => {
    const pin = entry({ at: NOW - 60_000, shards: [3, 4] });
    const move = entry({ actor: '10.0.0.1:7001', source: 'leader', action: 'rebalance', moves: [{ shard: 9, from: 'a:1', to: 'b:1' }] });
    const drain = entry({ actor: 'admin@10.0.0.2:7001', source: 'admin-api', action: 'drain', node: 'c:1' });
    const all = [pin, move, drain];
    const pick = (f: Parameters<typeof matchesHistory>[1]) => all.filter((e) => matchesHistory(e, f));
    expect(pick({})).toEqual(all);
    expect(pick({ since: NOW - 30_000 })).toEqual([move, drain]);
    expect(pick({ actions: ['pin', 'drain'] })).toEqual([pin, drain]);
    expect(pick({ actor: 'alice' })).toEqual([pin]);
    expect(pick({ actor: '@10.0.0.2' })).toEqual([drain]);
    expect(pick({ node: 'b:1' })).toEqual([move]);
    expect(pick({ node: 'c:1' })).toEqual([drain]);
    expect(pick({ shards: [[4, 9]] })).toEqual([pin, move]);
    expect(pick({ shards: [[5, 8]] })).toEqual([]);
    expect(pick({ actions: ['rebalance'], node: 'a:1', shards: [[9, 9]], since: NOW })).toEqual([move]);
  });
});
