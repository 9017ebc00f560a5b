/**
 * The shard map as a grid of cells, pure. Every shard is on screen at once: when the pane has fewer cells than the
 * cluster has shards, each cell stands for a run of consecutive shards and shows the most urgent state among them;
 * zooming in (enter) shows one shard per cell around the cursor. Each row is built as one styled string.
 */
import { SHARD_FLAG, SHARD_STATES, type ShardColumns, type ShardState } from '../../core/view/index.js';
import { HEAT_COLOURS, HEAT_GLYPHS, OWNER_COLOURS, type Theme } from '../theme.js';

/** A shard's mark on the map, least urgent first (an aggregated cell shows the most urgent of its shards). */
export const SHARD_MARKS = ['stable', 'no-target', 'pinned', 'unclaimed', 'migrating', 'orphaned', 'stuck'] as const;
export type ShardMark = (typeof SHARD_MARKS)[number];

export type MapMode = 'owner' | 'objects' | 'calls';
export const MAP_MODES: readonly MapMode[] = ['owner', 'objects', 'calls'];

/** Symbols of the marks that replace the owner letter; pinned shards show their owner's letter in upper case. */
export const MARK_GLYPH: Readonly<Record<Exclude<ShardMark, 'stable' | 'pinned'>, string>> = {
  'no-target': '.',
  unclaimed: '~',
  migrating: '>',
  orphaned: '?',
  stuck: '!',
};

/** The mark of a shard from its state and flags in the data model. */
export function shardMark(state: ShardState, flags: number): ShardMark {
  if ((flags & SHARD_FLAG.stuck) !== 0) return 'stuck';
  if (state === 'stable') return (flags & SHARD_FLAG.pinned) !== 0 ? 'pinned' : 'stable';
  return state;
}

/** Mark index by state index and the pinned and stuck bits: the per-shard loop does a lookup, not a branch tree. */
const MARK_TABLE: Uint8Array = (() => {
  const t = new Uint8Array(SHARD_STATES.length * 4);
  SHARD_STATES.forEach((state, i) => {
    for (let bits = 0; bits < 4; bits++) t[i * 4 + bits] = SHARD_MARKS.indexOf(shardMark(state, bits));
  });
  return t;
})();
const MARK_BITS = SHARD_FLAG.pinned | SHARD_FLAG.stuck;

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** The letter of node `index` (letters repeat past 26 nodes; the colour and the cursor line tell them apart). */
export function ownerLetter(index: number): string {
  return LETTERS[index % LETTERS.length]!;
}

/** The colour of node `index` (colours repeat past the palette's size). */
export function ownerColour(index: number): number {
  return OWNER_COLOURS[index % OWNER_COLOURS.length]!;
}

export interface GridGeometry {
  readonly cols: number;
  readonly rows: number;
  /** Shards per cell. */
  readonly perCell: number;
  /** First shard shown (0 unless zoomed). */
  readonly start: number;
  /** Shards shown: [start, end). */
  readonly end: number;
}

/**
 * Cells for `numShards` in a `width` x `height` area: one shard per cell when they fit (or when zoomed), else the
 * smallest run length that fits. Zoomed, the window starts at the row holding `zoomStart`, kept inside the shards.
 */
export function gridGeometry(numShards: number, width: number, height: number, zoomStart: number | null): GridGeometry {
  const cols = Math.max(1, width);
  const capacity = cols * Math.max(1, height);
  if (zoomStart === null || numShards <= capacity) {
    const perCell = Math.max(1, Math.ceil(numShards / capacity));
    const cells = Math.ceil(numShards / perCell);
    return { cols, rows: Math.ceil(cells / cols), perCell, start: 0, end: numShards };
  }
  const lastStart = Math.max(0, Math.ceil((numShards - capacity) / cols) * cols);
  const start = Math.min(Math.floor(zoomStart / cols) * cols, lastStart);
  const end = Math.min(numShards, start + capacity);
  return { cols, rows: Math.ceil((end - start) / cols), perCell: 1, start, end };
}

/** The cell index (row-major) holding shard `id`, or -1 when it is outside the window. */
export function cellOf(geo: GridGeometry, id: number): number {
  if (id < geo.start || id >= geo.end) return -1;
  return Math.floor((id - geo.start) / geo.perCell);
}

/** The shards of a cell: [first, last]. */
export function cellRange(geo: GridGeometry, cell: number): readonly [number, number] {
  const first = geo.start + cell * geo.perCell;
  return [first, Math.min(geo.end, first + geo.perCell) - 1];
}

export interface GridRenderOptions {
  readonly mode: MapMode;
  readonly cursor: number | null;
  /** Shards matching the filter; undefined: no filter. Others are shown dimmed as `·`. */
  readonly matches?: (id: number) => boolean;
}

export interface RenderedGrid {
  readonly lines: readonly string[];
  /** Heat mode: the cell value that maps to the hottest glyph. */
  readonly heatMax: number;
}

/** The grid's rows as styled strings, each exactly `geo.cols` columns wide (the last row may be shorter). */
export function renderGrid(shards: ShardColumns, geo: GridGeometry, theme: Theme, options: GridRenderOptions): RenderedGrid {
  const cells = Math.ceil((geo.end - geo.start) / geo.perCell);
  const glyphs: string[] = new Array<string>(cells);
  const colours = new Int16Array(cells);
  const values = options.mode === 'owner' ? null : new Float64Array(cells);
  const dimmed = new Uint8Array(cells);
  const metric = options.mode === 'objects' ? shards.objects : shards.calls;
  const ownerCount = new Map<number, number>();
  for (let c = 0; c < cells; c++) {
    const first = geo.start + c * geo.perCell;
    const last = Math.min(geo.end, first + geo.perCell);
    let worst = 0;
    let sum = 0;
    let anyMatch = options.matches === undefined;
    ownerCount.clear();
    for (let id = first; id < last; id++) {
      const m = MARK_TABLE[shards.state[id]! * 4 + (shards.flags[id]! & MARK_BITS)]!;
      if (m > worst) worst = m;
      // NaN (not reported) counts as nothing.
      if (values !== null && metric[id]! > 0) sum += metric[id]!;
      const o = shards.current[id]! >= 0 ? shards.current[id]! : shards.target[id]!;
      if (o >= 0) ownerCount.set(o, (ownerCount.get(o) ?? 0) + 1);
      if (!anyMatch && options.matches!(id)) anyMatch = true;
    }
    dimmed[c] = anyMatch ? 0 : 1;
    if (values !== null) {
      values[c] = sum;
      continue;
    }
    const owner = majority(ownerCount);
    colours[c] = owner < 0 ? -1 : ownerColour(owner);
    const mark = SHARD_MARKS[worst]!;
    glyphs[c] =
      mark === 'stable' || mark === 'pinned'
        ? owner < 0
          ? MARK_GLYPH['no-target']
          : mark === 'pinned'
            ? ownerLetter(owner).toUpperCase()
            : ownerLetter(owner)
        : MARK_GLYPH[mark];
    // State marks keep a colour of their own so they stand out from owner colours.
    if (mark === 'stuck' || mark === 'orphaned') colours[c] = 196;
    else if (mark === 'migrating') colours[c] = 226;
  }
  let heatMax = 0;
  if (values !== null) {
    for (let c = 0; c < cells; c++) if (values[c]! > heatMax) heatMax = values[c]!;
    // Log scale: call rates and object counts are heavily skewed, linear would leave all but the top cell cold.
    const scale = heatMax > 0 ? (HEAT_GLYPHS.length - 1) / Math.log1p(heatMax) : 0;
    for (let c = 0; c < cells; c++) {
      const v = values[c]!;
      const level = v > 0 ? Math.max(1, Math.round(Math.log1p(v) * scale)) : 0;
      glyphs[c] = HEAT_GLYPHS[level]!;
      colours[c] = HEAT_COLOURS[Math.round((level * (HEAT_COLOURS.length - 1)) / (HEAT_GLYPHS.length - 1))]!;
    }
  }
  const cursorCell = options.cursor === null ? -1 : cellOf(geo, options.cursor);
  const lines: string[] = [];
  for (let r = 0; r < geo.rows; r++) {
    let line = '';
    // Runs of one style are painted together: far fewer escape codes than one per cell.
    let run = '';
    let runStyle = -2;
    const flush = (): void => {
      if (run === '') return;
      line += runStyle === -3 ? theme.tone(run, 'muted') : runStyle < 0 ? run : theme.fg256(run, runStyle);
      run = '';
    };
    const rowEnd = Math.min(cells, (r + 1) * geo.cols);
    for (let c = r * geo.cols; c < rowEnd; c++) {
      if (c === cursorCell) {
        flush();
        line += theme.inverse(dimmed[c] ? '·' : glyphs[c]!);
        runStyle = -2;
        continue;
      }
      const style = dimmed[c] ? -3 : colours[c]!;
      if (style !== runStyle) {
        flush();
        runStyle = style;
      }
      run += dimmed[c] ? '·' : glyphs[c]!;
    }
    flush();
    lines.push(line);
  }
  return { lines, heatMax };
}

function majority(counts: ReadonlyMap<number, number>): number {
  let best = -1;
  let bestCount = 0;
  for (const [owner, n] of counts) {
    if (n > bestCount || (n === bestCount && owner < best)) {
      best = owner;
      bestCount = n;
    }
  }
  return best;
}
