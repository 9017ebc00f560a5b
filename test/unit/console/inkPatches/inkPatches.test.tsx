/**
 * The Ink patches (src/console/inkPatches) change how a frame is computed, never what it shows. The console is
 * rendered stock and patched through every pane, heatmap, dialog and prompt, at three terminal sizes and in colour,
 * and each frame of one shows the same cells as the same frame of the other. The output pass is also checked frame by
 * frame against Ink's own pass on the same operations, so the fast path is known to take every frame rather than
 * fall back to Ink.
 *
 * Only the patch module is imported statically: the grapheme fast path must be in place before Ink and its text
 * libraries load (they make their segmenters then), as in the console.
 */
// Types only: erased, so neither loads before the patches are installed.
import type * as TokenizerModule from '@alcalzone/ansi-tokenize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installGraphemeFastPath, removeGraphemeFastPath } from '../../../../src/console/inkPatches/graphemes.js';
import { type InkPatches, installInkPatches } from '../../../../src/console/inkPatches/index.js';
import { composeOutput, type InkOutput, inkOutputPrototype, type OutputOperation } from '../../../../src/console/inkPatches/outputPass.js';
import type * as FixturesModule from '../fixtures.js';

type Fixtures = typeof FixturesModule;
type Tokenizer = typeof TokenizerModule;

let patches: InkPatches;
let fixtures: Fixtures;
let tokenizer: Tokenizer;
let cluster: { readonly snapshot: ReturnType<Fixtures['richSnapshot']>; readonly metrics: ReturnType<Fixtures['richMetrics']> } | undefined;

beforeAll(async () => {
  patches = await installInkPatches();
  fixtures = await import('../fixtures.js');
  tokenizer = await import('@alcalzone/ansi-tokenize');
});
afterAll(() => patches.remove());

/** The cells a row shows, spelled one canonical way, without the trailing blanks a terminal shows anyway. */
const canonical = (output: string): string =>
  output
    .split('\n')
    .map((row) => tokenizer.styledCharsToString(tokenizer.styledCharsFromTokens(tokenizer.tokenize(row))).trimEnd())
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

/**
 * Every frame of every screen the console draws: each pane with its help, the heatmaps, dialogs and prompts. The
 * cluster is made once (the fixtures number revisions globally), so every rendering shows the same data.
 */
async function renderEveryScreen(): Promise<string[]> {
  cluster ??= { snapshot: fixtures.richSnapshot(), metrics: fixtures.richMetrics() };
  const frames: string[] = [];
  for (const [cols, rows] of [
    [80, 24],
    // ink-testing-library's terminal is 100 columns wide.
    [100, 40],
    [30, 8],
  ] as const) {
    const h = await fixtures.mount(cluster.snapshot, { metrics: cluster.metrics, cols, rows, color: true });
    try {
      for (let pane = 0; pane < 5; pane++) {
        await h.press('?');
        await h.press('escape');
        await h.press('tab');
      }
      await h.press('m', 'm', 'm');
      await h.press('j', 'return');
      await h.press('escape', 'p');
      await h.press('escape', ':', 's', 't');
      await h.press('escape', '/', 'a', 'b');
      await h.press('escape', 'd');
      await h.press('escape');
    } finally {
      h.unmount();
    }
    frames.push(...h.frames());
  }
  return frames;
}

// Each test renders every screen (dozens of frames) once or three times: seconds of CPU, more on a loaded machine.
const RENDER_ALL_MS = 30_000;

describe('the console, patched and stock', () => {
  it('shows the same cells in every frame of every pane, dialog and prompt, in colour', async () => {
    expect(patches.output, 'the output fast path is written for Ink 6').toBe(true);
    const patched = await renderEveryScreen();
    await patches.remove();
    // A frame the output fast path leaves to Ink (a clip, an overlap) goes through Ink's pass with the grapheme patch.
    installGraphemeFastPath();
    const fallback = await renderEveryScreen();
    removeGraphemeFastPath();
    const stock = await renderEveryScreen();
    expect(stock.length).toBeGreaterThan(60);
    // Bordered dialogs included.
    expect(stock.filter((f) => f.includes('╭')).length).toBeGreaterThan(5);
    for (const [name, frames] of [['patched', patched], ['Ink pass with the grapheme patch', fallback]] as const) {
      expect(frames.length, name).toBe(stock.length);
      for (let i = 0; i < stock.length; i++) expect(canonical(frames[i]!), `${name}, frame ${i}`).toBe(canonical(stock[i]!));
    }
  }, RENDER_ALL_MS);

  it('takes the fast output pass on every frame, with the cells of Ink\'s own pass', async () => {
    const proto = (await inkOutputPrototype())!;
    const inks = proto.get;
    const frames: { ink: string; fast: string | null }[] = [];
    // Every frame goes through both passes; Ink's is the one shown.
    proto.get = function get(this: InkOutput) {
      const ink = inks.call(this);
      frames.push({ ink: ink.output, fast: composeOutput(this.width, this.height, this.operations)?.output ?? null });
      return ink;
    };
    try {
      await renderEveryScreen();
    } finally {
      proto.get = inks;
    }
    expect(frames.length).toBeGreaterThan(60);
    for (const { ink, fast } of frames) {
      expect(fast).not.toBeNull();
      expect(canonical(fast!)).toBe(canonical(ink));
    }
  }, RENDER_ALL_MS);
});
