/**
 * A fast path for Ink's output pass. Ink turns the laid-out tree into text by building a grid of styled cells every
 * frame: each line is tokenized into one object per character and each row serialized back by diffing the styles of
 * neighbouring cells. For an 80x24 console that is half of a frame's time and several MB of garbage per frame, which
 * a storm of etcd events multiplies. The console's lines arrive already cut to the width and styled (see
 * ui/Screen.tsx), side by side and never overlapping, so a row can be composed by joining them, with spaces for the
 * gaps and a reset after each styled line so no style reaches a gap or the next line, as the grid guarantees. Anything
 * else (a clip, an overlap) goes to Ink's own pass. The result shows the same cells as Ink's (tested on every screen);
 * only the escape codes may be spelled differently.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import stringWidth from 'string-width';

/** The Ink major the output fast path was written against (its internal Output class and its operations). */
export const INK_MAJOR = 6;

type Transformer = (line: string, index: number) => string;

/** The operations Ink's Output records (ink/build/output.js). */
export type OutputOperation =
  | { readonly type: 'write'; readonly x: number; readonly y: number; readonly text: string; readonly transformers: readonly Transformer[] }
  | { readonly type: 'clip' | 'unclip' };

interface Segment {
  readonly x: number;
  readonly text: string;
}

const RESET = '\u001b[0m';
const ESC = '\u001b';

/** Display widths of lines followed by another on their row (dialogs); bounded, since lines change every frame. */
const widths = new Map<string, number>();
const WIDTH_CACHE_LIMIT = 4096;

function widthOf(text: string): number {
  let w = widths.get(text);
  if (w === undefined) {
    if (widths.size >= WIDTH_CACHE_LIMIT) widths.clear();
    w = stringWidth(text);
    widths.set(text, w);
  }
  return w;
}

/**
 * What Ink's grid would show for `operations` on a `width` x `height` output, or null when the fast path does not
 * apply: clipping, overlapping writes, or a write that starts right of the output (Ink's grid then closes the gap).
 * Rows are joined with newlines and trimmed at the end, as Ink's are.
 */
export function composeOutput(width: number, height: number, operations: readonly OutputOperation[]): { output: string; height: number } | null {
  const rows: (Segment[] | undefined)[] = new Array(height);
  for (const op of operations) {
    if (op.type !== 'write') return null;
    const lines = op.text.includes('\n') ? op.text.split('\n') : [op.text];
    for (let i = 0; i < lines.length; i++) {
      const y = op.y + i;
      if (y < 0 || y >= height) continue;
      let line = lines[i]!;
      for (const t of op.transformers) line = t(line, i);
      // An empty line covers no cell (a border's column text ends with one, on the bottom border's row).
      if (line !== '') (rows[y] ??= []).push({ x: op.x, text: line });
    }
  }
  const out: string[] = new Array(height);
  for (let y = 0; y < height; y++) {
    const row = rows[y];
    if (row === undefined) {
      out[y] = '';
      continue;
    }
    const composed = composeRow(row, width);
    if (composed === null) return null;
    out[y] = composed;
  }
  return { output: out.join('\n'), height };
}

function composeRow(segments: Segment[], width: number): string | null {
  if (segments.length > 1) segments.sort((a, b) => a.x - b.x);
  let row = '';
  let column = 0;
  let styledEnd = false;
  for (let i = 0; i < segments.length; i++) {
    const { x, text } = segments[i]!;
    if (x < column || x > width) return null;
    if (x > column) row += ' '.repeat(x - column);
    const styled = text.includes(ESC);
    row += styled ? text + RESET : text;
    styledEnd = styled;
    // Only a line followed by another needs measuring: the console's full-width lines never do.
    if (i + 1 < segments.length) column = x + widthOf(text);
  }
  // Ink trims unstyled trailing spaces; after a reset there are none left to trim that would show.
  return styledEnd ? row : row.trimEnd();
}

export interface InkOutput {
  width: number;
  height: number;
  operations: OutputOperation[];
  get(): { output: string; height: number };
}

/**
 * The prototype of Ink's internal Output class, or null unless Ink is the major this was written against
 * (INK_MAJOR). Output is not exported: it is reached by its file next to Ink's entry point, the module instance Ink
 * itself uses.
 */
export async function inkOutputPrototype(): Promise<InkOutput | null> {
  const require = createRequire(import.meta.url);
  const entry = pathToFileURL(require.resolve('ink'));
  const version = (JSON.parse(readFileSync(new URL('../package.json', entry), 'utf8')) as { version?: string }).version;
  if (version?.startsWith(`${INK_MAJOR}.`) !== true) return null;
  // eslint-disable-next-line no-restricted-syntax -- Ink exports no path to Output: its file is found from the entry.
  const { default: Output } = (await import(new URL('./output.js', entry).href)) as { default?: { prototype: InkOutput } };
  return typeof Output?.prototype.get === 'function' ? Output.prototype : null;
}

/** Ink's own output pass, kept while the fast path is in place. */
let inks: InkOutput['get'] | null = null;

/**
 * Routes Ink's output pass through `composeOutput`, falling back to Ink's own per call; returns whether the fast path
 * is in place (false on another Ink major). Idempotent.
 */
export async function installOutputFastPath(): Promise<boolean> {
  const proto = await inkOutputPrototype();
  if (proto === null) return false;
  if (inks !== null) return true;
  const own = proto.get;
  inks = own;
  proto.get = function get(this: InkOutput) {
    return composeOutput(this.width, this.height, this.operations) ?? own.call(this);
  };
  return true;
}

/** Puts Ink's own output pass back. */
export async function removeOutputFastPath(): Promise<void> {
  const proto = await inkOutputPrototype();
  if (proto === null || inks === null) return;
  proto.get = inks;
  inks = null;
}
