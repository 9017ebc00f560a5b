import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { installGraphemeFastPath, isStandalone, removeGraphemeFastPath, standaloneSegments } from '../../../../src/console/inkPatches/graphemes.js';

const real = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const segments = (s: string): string[] => [...real.segment(s)].map((x) => x.segment);

/** Every code unit the fast path accepts. */
const ACCEPTED = (() => {
  const out: string[] = [];
  for (let c = 0; c <= 0xffff; c++) {
    const ch = String.fromCharCode(c);
    if (isStandalone(ch)) out.push(ch);
  }
  return out;
})();

describe('grapheme fast path', () => {
  it('accepts the console alphabet: ASCII, ESC, box drawing, blocks, arrows, the marks the screen uses', () => {
    for (const s of ['goverse-top │ etcd ● synced', '\u001b[91m!\u001b[39m▲▼…⏸✖✓', 'ab─┼█░▶→']) expect(isStandalone(s), s).toBe(true);
  });

  it('leaves combining marks, joiners, variation selectors, surrogates and CR to the real segmenter', () => {
    for (const s of ['e\u0301', 'a\u200db', '⏸\ufe0f', '😀', '\r\n', '한', 'x\u20dd']) expect(isStandalone(s), JSON.stringify(s)).toBe(false);
  });

  it('segments every accepted string exactly as Intl.Segmenter does', () => {
    expect(ACCEPTED.length).toBeGreaterThan(1000);
    // Every accepted unit next to every other kind of neighbour, then random strings of them.
    const all = ACCEPTED.join('');
    expect([...standaloneSegments(all)].map((x) => x.segment)).toEqual(segments(all));
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ACCEPTED), { maxLength: 60 }), (chars) => {
        const s = chars.join('');
        const fast = [...standaloneSegments(s)];
        expect(fast.map((x) => x.segment)).toEqual(segments(s));
        expect(fast.map((x) => x.index)).toEqual([...real.segment(s)].map((x) => x.index));
      }),
      { numRuns: 500 },
    );
  });

  it('once installed, Intl.Segmenter gives the same segments for fast and slow strings, and other granularities', () => {
    const Before = Intl.Segmenter;
    installGraphemeFastPath();
    let g: Intl.Segmenter;
    try {
      expect(Intl.Segmenter).not.toBe(Before);
      g = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
      for (const s of ['\u001b[32maaa>\u001b[39m │ ▲', 'e\u0301 😀 a\u200db']) expect([...g.segment(s)].map((x) => x.segment)).toEqual(segments(s));
      const w = new Intl.Segmenter('en', { granularity: 'word' });
      expect([...w.segment('two words')].map((x) => x.segment)).toEqual(['two', ' ', 'words']);
      expect(typeof g.segment('ab').containing, 'the fast path answers').toBe('undefined');
    } finally {
      removeGraphemeFastPath();
    }
    expect(Intl.Segmenter).toBe(Before);
    // A segmenter made while installed (libraries make theirs when they load) is the real one once removed.
    expect(typeof g.segment('ab').containing).toBe('function');
  });
});
