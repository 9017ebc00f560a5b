/**
 * The output fast path shows what Ink's own output pass shows: checked on hand-made operations and on every screen
 * the console draws (each pane, dialogs with borders, help, palette, filter, a tiny terminal), in colour.
 */
import { styledCharsFromTokens, styledCharsToString, tokenize } from '@alcalzone/ansi-tokenize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeOutput, type InkOutput, inkOutputPrototype, type OutputOperation } from '../../../src/console/inkOutput.js';
import { mount, richMetrics, richSnapshot } from './fixtures.js';

/** The cells a row shows, spelled one canonical way, without the trailing blanks a terminal shows anyway. */
const canonical = (output: string): string =>
  output
    .split('\n')
    .map((row) => styledCharsToString(styledCharsFromTokens(tokenize(row))).trimEnd())
    .join('\n');

const write = (x: number, y: number, text: string): OutputOperation => ({ type: 'write', x, y, text, transformers: [] });
const red = (s: string): string => `\u001b[31m${s}\u001b[39m`;

describe('composeOutput', () => {
  it('joins the lines of a row with spaces for the gaps and trims unstyled trailing blanks', () => {
    const out = composeOutput(80, 4, [write(0, 0, 'ab  '), write(2, 1, 'x'), write(5, 1, 'y'), write(0, 3, 'z')]);
    expect(out).toEqual({ output: 'ab\n  x  y\n\nz', height: 4 });
  });

  it('ends every styled line with a reset, so an open style reaches neither a gap nor the next line', () => {
    const out = composeOutput(80, 1, [write(0, 0, '\u001b[32mopen'), write(6, 0, 'plain')]);
    expect(out?.output).toBe('\u001b[32mopen\u001b[0m  plain');
  });

  it('writes a multi-line text a row per line, through the transformers with the line index', () => {
    const upper = (line: string, i: number): string => `${i}${line.toUpperCase()}`;
    const out = composeOutput(80, 3, [{ type: 'write', x: 1, y: 0, text: 'a\nb\nc\nd', transformers: [upper] }]);
    expect(out?.output).toBe(' 0A\n 1B\n 2C');
  });

  it('measures wide characters when placing the next line', () => {
    expect(composeOutput(80, 1, [write(0, 0, '한x'), write(3, 0, 'y')])?.output).toBe('한xy');
  });

  it('leaves clips, overlapping writes and writes right of the output to Ink', () => {
    expect(composeOutput(10, 1, [write(11, 0, 'a')])).toBeNull();
    expect(composeOutput(80, 1, [{ type: 'clip' }, write(0, 0, 'a'), { type: 'unclip' }])).toBeNull();
    expect(composeOutput(80, 1, [write(0, 0, 'abc'), write(2, 0, 'x')])).toBeNull();
    expect(composeOutput(80, 1, [write(0, 0, red('a')), write(0, 0, 'b')])).toBeNull();
  });
});

describe('the console through the fast path', () => {
  let proto: InkOutput;
  let inks: InkOutput['get'];
  const frames: { ink: string; fast: string | null }[] = [];

  beforeAll(async () => {
    const p = await inkOutputPrototype();
    if (p === null) throw new Error('Ink 6 Output not found');
    proto = p;
    inks = proto.get;
    // Every frame goes through both passes; Ink's is the one shown.
    proto.get = function get(this: InkOutput) {
      const ink = inks.call(this);
      frames.push({ ink: ink.output, fast: composeOutput(this.width, this.height, this.operations)?.output ?? null });
      return ink;
    };
  });
  afterAll(() => {
    proto.get = inks;
  });

  it('shows the same cells as Ink on every pane, dialog and prompt, in colour', async () => {
    for (const [cols, rows] of [
      [80, 24],
      // ink-testing-library's terminal is 100 columns wide.
      [100, 40],
      [30, 8],
    ] as const) {
      const h = await mount(richSnapshot(), { metrics: richMetrics(), cols, rows, color: true });
      try {
        for (let pane = 0; pane < 5; pane++) {
          await h.press('?');
          await h.press('escape');
          await h.press('tab');
        }
        await h.press('j', 'return');
        await h.press('escape', 'p');
        await h.press('escape', ':', 's', 't');
        await h.press('escape', '/', 'a', 'b');
        await h.press('escape', 'd');
        await h.press('escape');
      } finally {
        h.unmount();
      }
    }
    expect(frames.length).toBeGreaterThan(60);
    // Bordered dialogs included: the fast path takes every frame the console draws.
    expect(frames.filter((f) => f.ink.includes('╭')).length).toBeGreaterThan(5);
    for (const { ink, fast } of frames) {
      expect(fast).not.toBeNull();
      expect(canonical(fast!)).toBe(canonical(ink));
    }
  });
});
