/**
 * Plain-text fitting for fixed-width cells. Everything the console lays out is fitted as plain text first and styled
 * afterwards, so widths are known without measuring escape codes. Node addresses, IDs and our own labels are ASCII;
 * other characters are counted as one column, which at worst shortens a line (Ink truncates, never wraps, rows).
 */
const ELLIPSIS = '…';

/** `text` cut or padded to exactly `width` columns; a cut ends with an ellipsis. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  if (text.length > width) return width === 1 ? ELLIPSIS : `${text.slice(0, width - 1)}${ELLIPSIS}`;
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}

/** `text` cut to at most `width` columns (no padding). */
export function clip(text: string, width: number): string {
  return text.length > width ? fit(text, width) : text;
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

/**
 * A styled line cut to `width` visible columns: escape sequences pass through uncounted, and a cut line ends with a
 * reset so no style leaks into the next. Cheap enough for every line of every frame (Ink's own truncation re-measures
 * the whole string with Unicode segmentation).
 */
export function truncateStyled(line: string, width: number): string {
  let visible = 0;
  for (let i = 0; i < line.length; i++) {
    if (line.charCodeAt(i) === 0x1b) {
      // CSI: ESC [ parameters final-byte (0x40-0x7e).
      let j = i + 2;
      while (j < line.length && (line.charCodeAt(j) < 0x40 || line.charCodeAt(j) > 0x7e)) j++;
      i = j;
      continue;
    }
    if (visible === width) return `${line.slice(0, i)}\u001b[0m`;
    visible++;
  }
  return line;
}
