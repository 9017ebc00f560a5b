/**
 * Colour for the console, as ANSI strings built here rather than by Ink's `color` props: rows of the shard map are
 * thousands of styled cells, and one pre-built string per row is far cheaper for Ink than one element per cell.
 * Without colour (`--no-color`, NO_COLOR) only attributes remain (bold, inverse, underline), so every state must
 * also be readable from its letters and symbols.
 */
export type Tone = 'accent' | 'good' | 'warn' | 'bad' | 'muted' | 'title';

export interface Theme {
  readonly color: boolean;
  tone(text: string, tone: Tone): string;
  bold(text: string): string;
  inverse(text: string): string;
  underline(text: string): string;
  /**
   * A foreground colour by SGR code (31-36, 91-96: the short forms, which Ink parses several times faster than
   * 256-colour codes). Runs of cells are painted by `colourRun`, which leaves the colour open for the next run.
   */
  fg(text: string, code: number): string;
}

/** Open and close codes; closes are specific (not a full reset) so that styles nest. */
const TONE_CODES: Readonly<Record<Tone, readonly [string, string]>> = {
  accent: ['36', '39'],
  good: ['32', '39'],
  warn: ['33', '39'],
  bad: ['31', '39'],
  muted: ['90', '39'],
  title: ['1;36', '22;39'],
};

const sgr = (open: string, text: string, close: string): string => (text === '' ? '' : `\u001b[${open}m${text}\u001b[${close}m`);

export function createTheme(color: boolean): Theme {
  return {
    color,
    tone: (text, tone) => (color ? sgr(TONE_CODES[tone][0], text, TONE_CODES[tone][1]) : tone === 'title' ? sgr('1', text, '22') : text),
    bold: (text) => sgr('1', text, '22'),
    inverse: (text) => sgr('7', text, '27'),
    underline: (text) => sgr('4', text, '24'),
    fg: (text, code) => (color ? sgr(String(code), text, '39') : text),
  };
}

/**
 * Owner colours: hues of the basic palette, normal then bright; red is kept for stuck and orphaned shards, yellow
 * for the heatmap.
 * With more nodes than colours they repeat; adjacent owner bands always differ, and the letter tells nodes apart.
 */
export const OWNER_COLOURS: readonly number[] = [32, 34, 36, 35, 92, 94, 96, 95, 37, 97];

/** Colours of shard marks and heat tiers, apart from the owner colours. */
export const MARK_COLOURS = { stuck: 91, orphaned: 31, dimmed: 90, heat: [90, 33, 91] } as const;

/** Heat glyphs, light to dense, so intensity reads without colour. */
export const HEAT_GLYPHS = '.:-=+*#%@';

/** Whether colour is wanted: the resolved setting (flag or NO_COLOR) and a terminal that shows it. */
export function wantsColor(noColor: boolean, isTTY: boolean): boolean {
  return !noColor && isTTY;
}
