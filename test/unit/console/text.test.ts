import { describe, expect, it } from 'vitest';
import { clip, compactAge, compactMs, compactNumber, fit, migrationAgeText, truncateStyled } from '../../../src/console/text.js';

describe('console text fitting', () => {
  it('fits to an exact width, cutting with an ellipsis', () => {
    expect(fit('abc', 5)).toBe('abc  ');
    expect(fit('abc', 5, 'right')).toBe('  abc');
    expect(fit('abcdef', 4)).toBe('abc…');
    expect(fit('abc', 1)).toBe('…');
    expect(fit('abc', 0)).toBe('');
  });

  it('fits the printable form of a string from etcd, measuring its escapes', () => {
    expect(fit('a\u001b[2Jb', 10)).toBe('a\\x1b[2Jb ');
    expect(fit('a\u001b[2Jb', 4)).toBe('a\\x…');
    expect(clip('\u009b1m', 20)).toBe('\\u009b1m');
  });

  it('shows a migration age, an unknown one as ?, and once seen for a while its lower bound', () => {
    expect(migrationAgeText({ ageSource: 'record', since: 0, ageMs: 310_000 })).toBe('5m10s');
    expect(migrationAgeText({ ageSource: 'first-seen', since: 0, ageMs: 0 })).toBe('0s');
    expect(migrationAgeText({ ageSource: 'unknown', since: null, ageMs: null, seenForMs: 0 })).toBe('?');
    expect(migrationAgeText({ ageSource: 'unknown', since: null, ageMs: null, seenForMs: 999 })).toBe('?');
    expect(migrationAgeText({ ageSource: 'unknown', since: null, ageMs: null, seenForMs: 310_000 })).toBe('≥5m10s');
  });

  it('formats numbers, latencies and ages compactly', () => {
    expect(compactNumber(undefined)).toBe('-');
    expect(compactNumber(999)).toBe('999');
    expect(compactNumber(1234)).toBe('1.2k');
    expect(compactNumber(45_678)).toBe('46k');
    expect(compactNumber(2.5)).toBe('2.5');
    expect(compactNumber(12_345_678)).toBe('12M');
    expect(compactMs(null)).toBe('-');
    expect(compactMs(0.25)).toBe('0.3ms');
    expect(compactMs(12.4)).toBe('12ms');
    expect(compactMs(1500)).toBe('1.5s');
    expect(compactAge(42_000)).toBe('42s');
    expect(compactAge(310_000)).toBe('5m10s');
    expect(compactAge(3 * 3600_000 + 5 * 60_000)).toBe('3h05m');
  });
});

describe('truncateStyled', () => {
  it('counts only visible characters and resets styles after a cut', () => {
    const red = (s: string): string => `\u001b[31m${s}\u001b[39m`;
    expect(truncateStyled(`ab${red('cd')}ef`, 10)).toBe(`ab${red('cd')}ef`);
    expect(truncateStyled(`ab${red('cd')}ef`, 3)).toBe('ab\u001b[31mc\u001b[0m');
    expect(truncateStyled(`ab${red('cd')}ef`, 4)).toBe(`ab\u001b[31mcd\u001b[39m\u001b[0m`);
    expect(truncateStyled('abc', 0)).toBe('\u001b[0m');
  });

  it('keeps the console\'s SGR codes and shows any other control character escaped, counted as shown', () => {
    const red = (s: string): string => `\u001b[31m${s}\u001b[39m`;
    const hostile = `a${red('b')}\u001b]0;t\u0007\u009b2J\u001b[2Jc`;
    expect(truncateStyled(hostile, 80)).toBe(`a${red('b')}\\x1b]0;t\\x07\\u009b2J\\x1b[2Jc`);
    expect(truncateStyled(hostile, 6)).toBe(`a${red('b')}\\x1b\u001b[0m`);
    // An unterminated or non-SGR CSI is escaped, not skipped as invisible.
    expect(truncateStyled('x\u001b[12', 80)).toBe('x\\x1b[12');
  });
});
