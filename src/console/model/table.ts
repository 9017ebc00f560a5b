/**
 * Windowed, sortable, filterable tables, pure. A pane hands over all its rows (hundreds of nodes, thousands of
 * stuck shards) and gets back only the lines that fit, as styled strings, plus the row keys in display order for
 * the key reducer. Any column sorts; the filter matches the text of every column.
 */
import { fit } from '../text.js';
import type { Theme, Tone } from '../theme.js';
import type { Filter, ListUi } from './ui.js';

export interface Column<Row> {
  readonly title: string;
  /** Fixed width, or 0 for the column that takes the remaining width (at most one per table). */
  readonly width: number;
  readonly align?: 'left' | 'right';
  /** What the column sorts by: numbers numerically, strings by code units, null last. */
  readonly sort: (row: Row) => number | string | null;
  readonly text: (row: Row) => string;
  /** Colour of the cell (its text carries the meaning too). */
  readonly tone?: (row: Row) => Tone | undefined;
}

export interface TableSpec<Row> {
  readonly columns: readonly Column<Row>[];
  readonly key: (row: Row) => string;
}

export interface RenderedTable<Row> {
  /** Column titles, the sort column marked with ▲ or ▼. */
  readonly header: string;
  readonly lines: readonly string[];
  /** Every row key after filter and sort, in display order. */
  readonly keys: readonly string[];
  readonly selected: Row | null;
  /** Rows that fit under the header. */
  readonly pageSize: number;
  /** Rows before the filter. */
  readonly total: number;
  /** Index (in `keys`) of the first row shown. */
  readonly first: number;
}

const GAP = 1;

export function matchesFilter(text: string, filter: Filter | null): boolean {
  if (filter === null) return true;
  const hit = text.toLowerCase().includes(filter.text.toLowerCase());
  return filter.inverse ? !hit : hit;
}

function compareValues(a: number | string | null, b: number | string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : 1;
}

/** Widths per column for `width` columns of screen: fixed ones as given, the flexible one gets the rest. */
function columnWidths<Row>(columns: readonly Column<Row>[], width: number): number[] {
  const fixed = columns.reduce((n, c) => n + c.width, 0) + GAP * (columns.length - 1);
  const flex = Math.max(4, width - fixed);
  return columns.map((c) => (c.width === 0 ? flex : c.width));
}

/** Rows filtered and sorted, with their keys: what a frame needs of all the rows, whatever the page shows. */
interface Arranged<Row> {
  readonly rows: readonly Row[];
  readonly keys: readonly string[];
}

/**
 * The arrangement per row list and spec, for the sort and filter it was made with: a thousand node rows are sorted
 * (and their text matched) once per change of the rows or of the sort, not on every frame.
 */
const arranged = new WeakMap<readonly unknown[], { readonly spec: unknown; readonly ui: ListUi; readonly result: Arranged<unknown> }>();

function arrange<Row>(spec: TableSpec<Row>, rows: readonly Row[], ui: ListUi): Arranged<Row> {
  const held = arranged.get(rows);
  if (
    held !== undefined &&
    held.spec === spec &&
    held.ui.sortColumn === ui.sortColumn &&
    held.ui.descending === ui.descending &&
    held.ui.filter?.text === ui.filter?.text &&
    held.ui.filter?.inverse === ui.filter?.inverse
  ) {
    return held.result as Arranged<Row>;
  }
  const { columns } = spec;
  const sortColumn = columns[Math.min(ui.sortColumn, columns.length - 1)]!;
  const filtered =
    ui.filter === null ? [...rows] : rows.filter((r) => matchesFilter(columns.map((c) => c.text(r)).join(' '), ui.filter));
  const dir = ui.descending ? -1 : 1;
  const sortKeys = new Map(filtered.map((r) => [r, sortColumn.sort(r)]));
  filtered.sort((a, b) => {
    const va = sortKeys.get(a)!;
    const vb = sortKeys.get(b)!;
    // Unknown values stay last whichever the direction.
    if (va === null || vb === null) return compareValues(va, vb);
    return dir * compareValues(va, vb) || compareValues(spec.key(a), spec.key(b));
  });
  const result = { rows: filtered, keys: filtered.map(spec.key) };
  arranged.set(rows, { spec, ui, result });
  return result;
}

export function renderTable<Row>(
  spec: TableSpec<Row>,
  rows: readonly Row[],
  ui: ListUi,
  size: { readonly width: number; readonly height: number },
  theme: Theme,
  focused: boolean,
): RenderedTable<Row> {
  const { columns } = spec;
  const widths = columnWidths(columns, size.width);
  const sortColumn = columns[Math.min(ui.sortColumn, columns.length - 1)]!;
  const { rows: filtered, keys } = arrange(spec, rows, ui);
  const pageSize = Math.max(1, size.height - 1);
  const at = ui.cursor === null ? 0 : Math.max(0, keys.indexOf(ui.cursor));
  const offset = Math.max(0, Math.min(ui.offset, at, Math.max(0, keys.length - pageSize)));
  const first = Math.max(offset, at - pageSize + 1);
  const header = columns
    .map((c, i) => {
      if (c !== sortColumn) return fit(c.title, widths[i]!, c.align);
      // The direction marker always shows: a title too long for its column gives way to it.
      const mark = ui.descending ? '▼' : '▲';
      return fit(`${c.title.slice(0, Math.max(0, widths[i]! - mark.length))}${mark}`, widths[i]!, c.align);
    })
    .join(' ');
  const lines: string[] = [];
  for (let i = first; i < Math.min(filtered.length, first + pageSize); i++) {
    const row = filtered[i]!;
    const cells = columns.map((c, j) => fit(c.text(row), widths[j]!, c.align));
    if (focused && i === at) {
      lines.push(theme.inverse(cells.join(' ')));
      continue;
    }
    lines.push(
      cells
        .map((cell, j) => {
          const tone = columns[j]!.tone?.(row);
          return tone === undefined ? cell : theme.tone(cell, tone);
        })
        .join(' '),
    );
  }
  return {
    header: theme.bold(header),
    lines,
    keys,
    selected: filtered[at] ?? null,
    pageSize,
    total: rows.length,
    first,
  };
}
