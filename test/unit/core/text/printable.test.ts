import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { printable, printableJson, printableLines } from '../../../../src/core/text/printable.js';

/** What a terminal must never receive from someone else's string. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

const TITLE_AND_CLEAR = '\u001b]0;evil\u0007\u001b[2J';
const CLIPBOARD = '\u001b]52;c;ZXZpbA==\u0007';

describe('printable', () => {
  it('escapes C0 and C1 controls, DEL and the escape sequences built from them', () => {
    expect(printable(`node${TITLE_AND_CLEAR}`)).toBe('node\\x1b]0;evil\\x07\\x1b[2J');
    expect(printable(CLIPBOARD)).toBe('\\x1b]52;c;ZXZpbA==\\x07');
    expect(printable('\u009b2J\u0085\u007f')).toBe('\\u009b2J\\u0085\\x7f');
    expect(printable('a\tb\nc\rd\u0000')).toBe('a\\x09b\\x0ac\\x0dd\\x00');
  });

  it('escapes bidi overrides and isolates, zero-width and other format characters, separators and lone surrogates', () => {
    expect(printable('abc\u202edcba')).toBe('abc\\u202edcba');
    expect(printable('\u2066x\u2069\u200e\u061c')).toBe('\\u2066x\\u2069\\u200e\\u061c');
    expect(printable('a\u200bb\u00adc\ufeff')).toBe('a\\u200bb\\u00adc\\ufeff');
    expect(printable('line\u2028para\u2029')).toBe('line\\u2028para\\u2029');
    expect(printable('tag\u{e0041}')).toBe('tag\\u{e0041}');
    expect(printable('lone \ud800 and \udc00')).toBe('lone \\ud800 and \\udc00');
  });

  it('returns printable text unchanged, including non-ASCII letters, box drawing and emoji', () => {
    for (const text of ['', '10.0.0.1:7001', 'café │ ▶ …', 'node-ü 😀', '\\x1b stays a backslash']) {
      expect(printable(text)).toBe(text);
    }
  });

  it('leaves nothing unsafe, and is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const shown = printable(s);
        expect(shown).not.toMatch(UNSAFE);
        expect(printable(shown)).toBe(shown);
      }),
    );
  });
});

describe('printableLines', () => {
  it('keeps the line breaks of a stack trace and escapes the rest of each line', () => {
    expect(printableLines(`Error: bad ${TITLE_AND_CLEAR}\n    at f (x.js:1:2)`)).toBe('Error: bad \\x1b]0;evil\\x07\\x1b[2J\n    at f (x.js:1:2)');
  });
});

describe('printableJson', () => {
  it('escapes what JSON.stringify leaves raw, and parses back to the exact value', () => {
    const value = { address: `a${TITLE_AND_CLEAR}\u009b2J\u202e\u007f\u2028\u{e0041}`, nested: ['\ud800', 'plain'] };
    const json = printableJson(JSON.stringify(value, null, 2));
    expect(json.replace(/\n/g, '')).not.toMatch(UNSAFE);
    expect(json).toContain('\\u009b2J\\u202e\\u007f\\u2028\\udb40\\udc41');
    expect(JSON.parse(json)).toEqual(value);
  });

  it('keeps the layout of pretty-printed JSON and leaves ASCII-only JSON as it is', () => {
    const json = JSON.stringify({ a: [1, 'x'] }, null, 2);
    expect(printableJson(json)).toBe(json);
    const unicode = JSON.stringify({ a: 'café' }, null, 2);
    expect(printableJson(unicode)).toBe(unicode);
  });

  it('parses back to the same value for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const json = printableJson(JSON.stringify({ s }));
        expect(JSON.parse(json)).toEqual({ s });
        expect(json.replace(/\n/g, '')).not.toMatch(UNSAFE);
      }),
    );
  });
});
