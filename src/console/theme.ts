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
  /** A foreground from the 256-colour palette (owner colours, heat ramp). */
  fg256(text: string, code: number): string;
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
    fg256: (text, code) => (color ? sgr(`38;5;${code}`, text, '39') : text),
  };
}

/**
 * Owner colours: well separated hues of the xterm 256-colour cube, bright enough on dark and light backgrounds.
 * With more nodes than colours they repeat; the owner letter and the cursor's details tell nodes apart.
 */
export const OWNER_COLOURS: readonly number[] = [
  39, 208, 41, 170, 220, 75, 203, 114, 141, 179, 44, 212, 148, 69, 215, 80, 162, 106, 111, 173, 43, 135, 186, 167,
];

/** Heat ramp, cold to hot (blue, green, yellow, red). */
export const HEAT_COLOURS: readonly number[] = [24, 31, 37, 71, 107, 143, 179, 209, 203, 196];

/** Heat glyphs, light to dense, so intensity reads without colour. */
export const HEAT_GLYPHS = '.:-=+*#%@';

/** Whether colour is wanted: the resolved setting (flag or NO_COLOR) and a terminal that shows it. */
export function wantsColor(noColor: boolean, isTTY: boolean): boolean {
  return !noColor && isTTY;
}
