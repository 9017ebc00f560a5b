import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/core/duration.js';
import { InvalidArgumentError } from '../../../src/core/errors.js';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['+0', 0],
    ['0s', 0],
    ['500ms', 500],
    ['10s', 10_000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['.5s', 500],
    ['1.s', 1000],
    ['2h', 7_200_000],
    ['1h2m3s4ms', 3_723_004],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['1500000ns', 1.5],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '10', '1.5', '-1s', '1S', '1 s', '1m30', 's', '.s', '00', '1d', '1hms', '1e3s', ' 1s', '1s ', '0x10s', '9999999999999999999h'])(
    'refuses %j, saying the accepted form',
    (text) => {
      expect(() => parseDuration(text)).toThrow(InvalidArgumentError);
      expect(() => parseDuration(text)).toThrow(/expected a duration such as 500ms, 10s, 1m/);
    },
  );
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [61_500, '1m1.5s'],
    [59_999.9, '1m'],
    [0.5, '500us'],
    [0.0005, '500ns'],
    [-2000, '-2s'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
  ])('shows %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('is read back by parseDuration for whole milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 365 * 86_400_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});
