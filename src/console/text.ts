/**
 * Plain-text fitting for fixed-width cells. Everything the console lays out is fitted as plain text first and styled
 * afterwards, so widths are known without measuring escape codes. Node addresses, IDs and our own labels are ASCII;
 * other characters are counted as one column, which at worst shortens a line (Ink truncates, never wraps, rows).
 * Text from etcd and the nodes is made `printable` before it is measured: fitted text is printable, and text a pane
 * interpolates without fitting goes through `printable` where it is interpolated.
 */
import type { MigrationAge } from '../core/planner/stuck.js';
import { printable } from '../core/text/printable.js';

const ELLIPSIS = '…';

/** `text` shown printable, cut or padded to exactly `width` columns; a cut ends with an ellipsis. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const shown = printable(text);
  if (shown.length > width) return width === 1 ? ELLIPSIS : `${shown.slice(0, width - 1)}${ELLIPSIS}`;
  return align === 'left' ? shown.padEnd(width) : shown.padStart(width);
}

/** `text` shown printable, cut to at most `width` columns (no padding). */
export function clip(text: string, width: number): string {
  const shown = printable(text);
  return shown.length > width ? fit(shown, width) : shown;
}

/** Compact counts for narrow columns: 999, 1.2k, 12k, 1.2M. */
export function compactNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '-';
  const abs = Math.abs(n);
  if (abs < 10 && !Number.isInteger(n)) return n.toFixed(1);
  if (abs < 1000) return String(Math.round(n));
  if (abs < 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (abs < 1_000_000) return `${Math.round(n / 1000)}k`;
  if (abs < 10_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  return `${Math.round(n / 1_000_000)}M`;
}

/** Milliseconds for latency columns: 0.4ms, 12ms, 1.3s; '-' when unknown. */
export function compactMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '-';
  if (ms < 1) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Ages and countdowns in the largest sensible unit: 42s, 5m10s, 3h05m. */
export function compactAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The end of the SGR sequence (`ESC [ digits and semicolons m`, all the console's styling) at `i`, or -1. */
function sgrEnd(line: string, i: number): number {
  if (line.charCodeAt(i + 1) !== 0x5b) return -1;
  for (let j = i + 2; j < line.length; j++) {
    const c = line.charCodeAt(j);
    if (c === 0x6d) return j;
    if ((c < 0x30 || c > 0x39) && c !== 0x3b) return -1;
  }
  return -1;
}

const isControl = (c: number): boolean => c < 0x20 || (c >= 0x7f && c <= 0x9f);

/**
 * A styled line cut to `width` visible columns: SGR sequences pass through uncounted, and a cut line ends with a
 * reset so no style leaks into the next. Cheap enough for every line of every frame (Ink's own truncation re-measures
 * the whole string with Unicode segmentation). The last guard of the screen: any other control character (a string
 * from etcd a pane forgot to make printable) is shown escaped and counted as such, never sent to the terminal.
 */
export function truncateStyled(line: string, width: number): string {
  let visible = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x1b) {
      const end = sgrEnd(line, i);
      if (end < 0) return truncateStyled(neutralize(line), width);
      i = end;
      continue;
    }
    if (isControl(c)) return truncateStyled(neutralize(line), width);
    if (visible === width) return `${line.slice(0, i)}\u001b[0m`;
    visible++;
  }
  return line;
}

/** `line` with its SGR sequences kept and every other control character printable. */
function neutralize(line: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x1b) {
      const end = sgrEnd(line, i);
      if (end >= 0) {
        i = end;
        continue;
      }
    } else if (!isControl(c)) {
      continue;
    }
    out += `${line.slice(from, i)}${printable(line[i]!)}`;
    from = i + 1;
  }
  return out + line.slice(from);
}

/**
 * A migration's age: `42s` from its record or a sighting of its start; unknown (no migration record, already under
 * way when the console first saw it) is `?`, or `≥5m10s` once the console has seen it that long.
 */
export function migrationAgeText(m: MigrationAge): string {
  if (m.ageSource !== 'unknown') return compactAge(m.ageMs);
  return m.seenForMs < 1000 ? '?' : `≥${compactAge(m.seenForMs)}`;
}
