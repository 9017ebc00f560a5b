import { describe, expect, it } from 'vitest';
import { autoLoadObjects } from '../../../../src/core/config/autoLoad.js';
import { bool, decimal, duration, integer, list, oneOf, text, type Parsed } from '../../../../src/core/config/valueTypes.js';

const value = <T>(p: Parsed<T>): T | 'refused' => (p.ok ? p.value : 'refused');

describe('setting value types', () => {
  it('integers: digits with a sign only, within bounds', () => {
    const t = integer({ min: 1 });
    expect(value(t.parse('64'))).toBe(64);
    expect(value(t.parse(' 64 '))).toBe(64);
    expect(value(t.parse('+7'))).toBe(7);
    expect(value(t.parse(64))).toBe(64);
    for (const bad of ['12abc', '1e3', '1.0', '', '0', '-5', '0x10', '99999999999999999999', 1.5, 0, true, null, [1]]) {
      expect(value(t.parse(bad)), JSON.stringify(bad)).toBe('refused');
    }
    expect(t.expected).toBe('an integer >= 1');
    const bounded = integer({ min: 1, max: 1_048_576 });
    expect(bounded.expected).toBe('an integer from 1 to 1048576');
    expect(value(bounded.parse('1048576'))).toBe(1_048_576);
    expect(value(bounded.parse('1048577'))).toBe('refused');
    expect(value(bounded.parse(2 ** 21))).toBe('refused');
  });

  it('decimals: finite, within open or closed bounds', () => {
    const threshold = decimal({ min: 0, max: 1 });
    expect(threshold.expected).toBe('a number in (0, 1]');
    expect(value(threshold.parse('0.2'))).toBe(0.2);
    expect(value(threshold.parse('1'))).toBe(1);
    expect(value(threshold.parse('.5'))).toBe(0.5);
    expect(value(threshold.parse('5e-1'))).toBe(0.5);
    for (const bad of ['0', '1.01', '-0.1', 'NaN', 'Infinity', '0.2x', '', Number.NaN]) {
      expect(value(threshold.parse(bad)), String(bad)).toBe('refused');
    }
    const hysteresis = decimal({ min: 0, minInclusive: true, max: 1, maxExclusive: true });
    expect(hysteresis.expected).toBe('a number in [0, 1)');
    expect(value(hysteresis.parse('0'))).toBe(0);
    expect(value(hysteresis.parse('1'))).toBe('refused');
    const weight = decimal({ min: 0 });
    expect(weight.expected).toBe('a number > 0');
    expect(value(weight.parse('2.5'))).toBe(2.5);
    expect(value(weight.parse('0'))).toBe('refused');
  });

  it('durations: Go form; YAML numbers only as 0; positive and whole-second variants', () => {
    const d = duration();
    expect(value(d.parse('1m30s'))).toBe(90_000);
    expect(value(d.parse('0'))).toBe(0);
    expect(value(d.parse(0))).toBe(0);
    expect(value(d.parse(10))).toBe('refused');
    expect(value(d.parse('10'))).toBe('refused');
    expect(value(duration({ positive: true }).parse('0s'))).toBe('refused');
    const ttl = duration({ wholeSecondsMin: 2 });
    expect(value(ttl.parse('15s'))).toBe(15_000);
    expect(value(ttl.parse('1m'))).toBe(60_000);
    expect(value(ttl.parse('1500ms'))).toBe('refused');
    expect(value(ttl.parse('1s'))).toBe('refused');
    expect(ttl.expected).toMatch(/whole seconds, at least 2s$/);
    const pause = duration({ positive: true, max: 86_400_000 });
    expect(value(pause.parse('24h'))).toBe(86_400_000);
    expect(value(pause.parse('24h1ms'))).toBe('refused');
    expect(pause.expected).toMatch(/greater than 0, at most 24h$/);
    const refresh = duration({ positive: true, bareSeconds: true });
    expect(value(refresh.parse('2'))).toBe(2000);
    expect(value(refresh.parse('0.5'))).toBe(500);
    expect(value(refresh.parse('250ms'))).toBe(250);
    expect(value(refresh.parse('0'))).toBe('refused');
    expect(value(refresh.parse('-1'))).toBe('refused');
  });

  it('booleans: true/false, 1/0, yes/no in any case', () => {
    const b = bool();
    for (const yes of ['1', 'true', 'TRUE', 'yes', 'Yes', true]) expect(value(b.parse(yes))).toBe(true);
    for (const no of ['0', 'false', 'no', 'NO', false]) expect(value(b.parse(no))).toBe(false);
    for (const bad of ['', 'on', 'y', '2', 1]) expect(value(b.parse(bad))).toBe('refused');
  });

  it('lists: comma-separated or arrays, trimmed, no empty entries', () => {
    const l = list({ expected: 'hosts', item: (s) => !s.includes(' '), minItems: 1 });
    expect(value(l.parse('a:1, b:2 ,c:3'))).toEqual(['a:1', 'b:2', 'c:3']);
    expect(value(l.parse(['a:1', ' b:2 ']))).toEqual(['a:1', 'b:2']);
    for (const bad of ['a,,b', 'a,', ',a', '', ' ', [], ['a', ''], ['a b'], [null], 5]) {
      expect(value(l.parse(bad)), JSON.stringify(bad)).toBe('refused');
    }
    const optional = list({ expected: 'urls', item: () => true, minItems: 0 });
    expect(value(optional.parse(''))).toEqual([]);
  });

  it('enums and text', () => {
    const e = oneOf(['count', 'weighted', 'load']);
    expect(value(e.parse('weighted'))).toBe('weighted');
    expect(value(e.parse('Weighted'))).toBe('refused');
    expect(e.expected).toBe('one of count, weighted, load');
    const t = text({ expected: 'no spaces', valid: (s) => !s.includes(' ') });
    expect(value(t.parse('abc'))).toBe('abc');
    expect(value(t.parse(42))).toBe('42');
    expect(value(t.parse('a b'))).toBe('refused');
    expect(value(t.parse(true))).toBe('refused');
  });

  it('auto-load objects: per_shard and per_node exclude each other; problems point into the entry', () => {
    expect(
      value(
        autoLoadObjects.parse([
          { type: 'Counter', id: 'global' },
          { type: 'Counter', id: 'local', per_node: true },
          { type: 'Counter', id: 7, per_shard: true, per_node: false },
        ]),
      ),
    ).toEqual([
      { type: 'Counter', id: 'global', placement: 'single' },
      { type: 'Counter', id: 'local', placement: 'per-node' },
      { type: 'Counter', id: '7', placement: 'per-shard' },
    ]);
    expect(autoLoadObjects.parse([{ type: 'A', id: 'x', per_shard: true, per_node: true }])).toMatchObject({
      ok: false,
      at: { path: '[0]' },
      expected: expect.stringMatching(/mutually exclusive/),
    });
    expect(autoLoadObjects.parse([{ type: 'A', id: 'x' }, { type: 'A' }])).toMatchObject({ ok: false, at: { path: '[1].id', value: undefined } });
    expect(autoLoadObjects.parse([{ type: 'A', id: 'x', per_node: 'yes' }])).toMatchObject({ ok: false, at: { path: '[0].per_node', value: 'yes' } });
    expect(autoLoadObjects.parse(['A'])).toMatchObject({ ok: false, at: { path: '[0]' } });
    expect(autoLoadObjects.parse('A')).toEqual({ ok: false });
  });
});
