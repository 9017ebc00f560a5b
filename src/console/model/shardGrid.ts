/**
 * The shard map as a grid of cells, pure. Every shard is on screen at once, grouped by owner: when the pane has fewer
 * cells than the cluster has shards, each cell stands for a run of shards and shows the most urgent state among
 * them; zooming in (enter) shows one shard per cell around the cursor. Each row is built as one styled string.
 */
import { SHARD_FLAG, SHARD_STATES, type ShardColumns, type ShardState } from '../../core/view/index.js';
import { HEAT_GLYPHS, MARK_COLOURS, OWNER_COLOURS, type Theme } from '../theme.js';

/**
 * A shard's mark on the map, least urgent first (an aggregated cell shows the most urgent of its shards). `absent`:
 * a transition's high shard without a key (not split yet, or merged), shown apart so the split's progress reads as a
 * band that shrinks (merge: grows).
 */
export const SHARD_MARKS = ['absent', 'stable', 'no-target', 'pinned', 'unclaimed', 'migrating', 'orphaned', 'stuck'] as const;
export type ShardMark = (typeof SHARD_MARKS)[number];

export type MapMode = 'owner' | 'objects' | 'calls';
export const MAP_MODES: readonly MapMode[] = ['owner', 'objects', 'calls'];

/** Symbols of the marks that replace the owner letter; pinned shards show their owner's letter in upper case. */
export const MARK_GLYPH: Readonly<Record<Exclude<ShardMark, 'stable' | 'pinned'>, string>> = {
  absent: '_',
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
const STABLE_MARK = SHARD_MARKS.indexOf('stable');

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** The letter of node `index` (letters repeat past 26 nodes; the colour and the cursor line tell them apart). */
export function ownerLetter(index: number): string {
  return LETTERS[index % LETTERS.length]!;
}

/** The colour of node `index` (colours repeat past the palette's size). */
export function ownerColour(index: number): number {
  return OWNER_COLOURS[index % OWNER_COLOURS.length]!;
}

/**
 * The order shards are laid out in: grouped by owner (CurrentNode, else TargetNode; unassigned, then a transition's
 * absent high shards last), so each node shows as one band whose length is its share and a row changes colour once
 * per band rather than once per cell
 * (Ink re-parses every escape code of every frame). In ID order within a band (the view's ShardLayout, kept up to
 * date shard by shard), or hottest first in a heatmap.
 */
export interface MapOrder {
  readonly size: number;
  /** Bands: one per node index, then the unassigned shards, then a transition's absent high shards. */
  readonly bandCount: number;
  bandStart(band: number): number;
  shardsIn(band: number): ArrayLike<number>;
  idAt(position: number): number;
  positionOf(id: number): number;
  /** The shards whose mark is not plain stable, when known: the rest need not be looked at. */
  readonly notable?: ReadonlySet<number>;
}

/** An order computed in full over every shard: a heatmap's. */
class ArrayOrder implements MapOrder {
  constructor(
    private readonly order: Int32Array,
    private readonly position: Int32Array,
    private readonly starts: Int32Array,
  ) {}

  get size(): number {
    return this.order.length;
  }

  get bandCount(): number {
    return this.starts.length - 1;
  }

  bandStart(band: number): number {
    return this.starts[band]!;
  }

  shardsIn(band: number): ArrayLike<number> {
    return this.order.subarray(this.starts[band]!, this.starts[band + 1]!);
  }

  idAt(position: number): number {
    return this.order[position]!;
  }

  positionOf(id: number): number {
    return this.position[id]!;
  }
}

/** A heatmap's order from a layout's bands: each band hottest first. */
export function heatOrder(layout: MapOrder, metric: Float64Array): MapOrder {
  const order = new Int32Array(layout.size);
  const starts = new Int32Array(layout.bandCount + 1);
  for (let b = 0; b < layout.bandCount; b++) {
    const ids = layout.shardsIn(b);
    order.set(ids, layout.bandStart(b));
    starts[b + 1] = starts[b]! + ids.length;
  }
  sortHottestFirst(order, starts, metric);
  return new ArrayOrder(order, positions(order), starts);
}

function sortHottestFirst(order: Int32Array, starts: Int32Array, metric: Float64Array): void {
  const value = (id: number): number => (metric[id]! > 0 ? metric[id]! : 0);
  for (let b = 0; b + 1 < starts.length; b++) order.subarray(starts[b]!, starts[b + 1]!).sort((x, y) => value(y) - value(x) || x - y);
}

function positions(order: Int32Array): Int32Array {
  const position = new Int32Array(order.length);
  for (let p = 0; p < order.length; p++) position[order[p]!] = p;
  return position;
}

/** Zooming in divides the shards per cell by this much per level; past a few per cell the next level shows one. */
const ZOOM_FACTOR = 8;

/** Zoomed in `level` times from the whole map, the window starting at the row that holds position `start`. */
export interface MapZoom {
  readonly level: number;
  readonly start: number;
}

export interface GridGeometry {
  readonly cols: number;
  readonly rows: number;
  /** Positions (shards) per cell. */
  readonly perCell: number;
  /** First position shown (0 unless zoomed). */
  readonly start: number;
  /** Positions shown: [start, end). */
  readonly end: number;
  /** Zoom level shown (0: the whole map). */
  readonly level: number;
  /** Shards per cell of the whole map (level 0). */
  readonly whole: number;
}

/**
 * Cells for `numShards` positions in a `width` x `height` area: one per cell when they fit, else the smallest run
 * length that fits; each zoom level divides it by ZOOM_FACTOR down to one shard per cell, showing a window of whole
 * rows that starts at the row holding `zoom.start`, kept inside the shards.
 */
export function gridGeometry(numShards: number, width: number, height: number, zoom: MapZoom | null): GridGeometry {
  const cols = Math.max(1, width);
  const capacity = cols * Math.max(1, height);
  const whole = Math.max(1, Math.ceil(numShards / capacity));
  if (zoom === null || zoom.level <= 0 || whole === 1) {
    return { cols, rows: Math.ceil(Math.ceil(numShards / whole) / cols), perCell: whole, start: 0, end: numShards, level: 0, whole };
  }
  const level = Math.min(zoom.level, maxZoomLevel(whole));
  const perCell = zoomedPerCell(whole, level);
  const rowSpan = cols * perCell;
  const lastStart = Math.max(0, Math.ceil((numShards - capacity * perCell) / rowSpan) * rowSpan);
  const start = Math.min(Math.floor(Math.max(0, zoom.start) / rowSpan) * rowSpan, lastStart);
  const end = Math.min(numShards, start + capacity * perCell);
  return { cols, rows: Math.ceil(Math.ceil((end - start) / perCell) / cols), perCell, start, end, level, whole };
}

/** Shards per cell at a zoom level: a whole map of 71 per cell shows 9, then 1; one of 9 shows 1 at once. */
export function zoomedPerCell(whole: number, level: number): number {
  const perCell = Math.ceil(whole / ZOOM_FACTOR ** level);
  return perCell <= 2 ? 1 : perCell;
}

/** The level at which a map of `whole` shards per cell shows one shard per cell. */
function maxZoomLevel(whole: number): number {
  let level = 0;
  while (zoomedPerCell(whole, level) > 1) level++;
  return level;
}

/** The cell index (row-major) holding `position`, or -1 when it is outside the window. */
export function cellOf(geo: GridGeometry, position: number): number {
  if (position < geo.start || position >= geo.end) return -1;
  return Math.floor((position - geo.start) / geo.perCell);
}

/** The positions of a cell: [first, last]. */
export function cellRange(geo: GridGeometry, cell: number): readonly [number, number] {
  const first = geo.start + cell * geo.perCell;
  return [first, Math.min(geo.end, first + geo.perCell) - 1];
}

export interface GridRenderOptions {
  readonly mode: MapMode;
  /** Position of the cursor, or null when the pane has no focus. */
  readonly cursor: number | null;
  /** Shards matching the filter; undefined: no filter. Others are shown dimmed as `·`. */
  readonly matches?: (id: number) => boolean;
}

export interface RenderedGrid {
  readonly lines: readonly string[];
  /** Heat mode: the cell value that maps to the hottest glyph. */
  readonly heatMax: number;
}

/** Cell styles besides colour codes. */
const PLAIN = 39;
const DIMMED: number = MARK_COLOURS.dimmed;
/** Trouble gets a colour of its own; shards on the move keep their band's colour (their symbol marks them). */
const STATE_COLOURS: Readonly<Partial<Record<ShardMark, number>>> = { stuck: MARK_COLOURS.stuck, orphaned: MARK_COLOURS.orphaned, absent: DIMMED };

/**
 * The grid's rows as styled strings, each at most `geo.cols` columns wide. A cell's owner is the band covering most
 * of it (from the band boundaries alone); its mark is the most urgent of its shards, found from the notable shards
 * when the order knows them (the owner map without a filter: work in proportion to cells, bands and notable shards),
 * else by looking at every shard in the window (a filter, a heatmap).
 */
export function renderGrid(shards: ShardColumns, order: MapOrder, geo: GridGeometry, theme: Theme, options: GridRenderOptions): RenderedGrid {
  const cells = Math.ceil((geo.end - geo.start) / geo.perCell);
  const glyphs: string[] = new Array<string>(cells);
  const colours = new Int16Array(cells);
  const values = options.mode === 'owner' ? null : new Float64Array(cells);
  const metric = options.mode === 'objects' ? shards.objects : shards.calls;
  // Absent shards mark below stable: a cell shows them by its owner (their band), not by a mark.
  const worst = new Uint8Array(cells).fill(STABLE_MARK);
  const owners = cellOwners(order, geo, cells);
  const markOf = (id: number): number => MARK_TABLE[shards.state[id]! * 4 + (shards.flags[id]! & MARK_BITS)]!;
  const notable = options.mode === 'owner' && options.matches === undefined ? order.notable : undefined;
  if (notable !== undefined) {
    for (const id of notable) {
      const c = cellOf(geo, order.positionOf(id));
      if (c >= 0) worst[c] = Math.max(worst[c]!, markOf(id));
    }
  } else {
    const matched = options.matches === undefined ? null : new Uint8Array(cells);
    forEachInWindow(order, geo, (p, id) => {
      const c = Math.floor((p - geo.start) / geo.perCell);
      const m = markOf(id);
      if (m > worst[c]!) worst[c] = m;
      // NaN (not reported) counts as nothing.
      if (values !== null && metric[id]! > 0) values[c]! += metric[id]!;
      if (matched !== null && matched[c] === 0 && options.matches!(id)) matched[c] = 1;
    });
    if (matched !== null) {
      for (let c = 0; c < cells; c++) {
        if (matched[c] === 1) continue;
        glyphs[c] = '·';
        colours[c] = DIMMED;
      }
    }
  }
  if (values === null) markCells(glyphs, colours, owners, worst);
  let heatMax = 0;
  if (values !== null) {
    for (let c = 0; c < cells; c++) if (colours[c] !== DIMMED && values[c]! > heatMax) heatMax = values[c]!;
    // Log scale: call rates and object counts are heavily skewed, linear would leave all but the top cell cold.
    const top = HEAT_GLYPHS.length - 1;
    const scale = heatMax > 0 ? top / Math.log1p(heatMax) : 0;
    for (let c = 0; c < cells; c++) {
      if (colours[c] === DIMMED) continue;
      const v = values[c]!;
      const level = v > 0 ? Math.max(1, Math.round(Math.log1p(v) * scale)) : 0;
      glyphs[c] = HEAT_GLYPHS[level]!;
      // Three colour tiers (glyph density carries the level): few colour changes per band.
      colours[c] = MARK_COLOURS.heat[Math.min(2, Math.floor((level * 3) / (top + 1)))]!;
    }
  }
  const cursorCell = options.cursor === null ? -1 : cellOf(geo, options.cursor);
  const lines: string[] = [];
  for (let r = 0; r < geo.rows; r++) {
    // A colour code where the colour changes, none to close a run: half the escape codes Ink has to parse.
    let line = '';
    let current = PLAIN;
    const rowEnd = Math.min(cells, (r + 1) * geo.cols);
    for (let c = r * geo.cols; c < rowEnd; c++) {
      if (theme.color && colours[c] !== current) {
        current = colours[c]!;
        line += `\u001b[${current}m`;
      }
      line += c === cursorCell ? theme.inverse(glyphs[c]!) : glyphs[c]!;
    }
    lines.push(current === PLAIN ? line : `${line}\u001b[39m`);
  }
  return { lines, heatMax };
}

/** Each cell not dimmed: its mark's symbol, or its owner's letter (upper case when pinned), in its colour. */
function markCells(glyphs: string[], colours: Int16Array, owners: Int32Array, worst: Uint8Array): void {
  for (let c = 0; c < glyphs.length; c++) {
    if (colours[c] === DIMMED) continue;
    const owner = owners[c]!;
    const mark = SHARD_MARKS[worst[c]!]!;
    if (mark === 'stable' && owner === ABSENT_OWNER) {
      glyphs[c] = MARK_GLYPH.absent;
      colours[c] = STATE_COLOURS.absent!;
    } else if (mark === 'stable' || mark === 'pinned') {
      glyphs[c] = owner < 0 ? MARK_GLYPH['no-target'] : mark === 'pinned' ? ownerLetter(owner).toUpperCase() : ownerLetter(owner);
      colours[c] = owner < 0 ? PLAIN : ownerColour(owner);
    } else {
      glyphs[c] = MARK_GLYPH[mark];
      colours[c] = STATE_COLOURS[mark] ?? (owner < 0 ? PLAIN : ownerColour(owner));
    }
  }
}

/** A cell's owner when a transition's absent high shards cover most of it. */
const ABSENT_OWNER = -2;

/**
 * Per cell, the node whose band covers most of it (ties: the lower index), ABSENT_OWNER when the absent shards' band
 * does, or -1 when only unassigned shards do. Bands are contiguous, so a cell's owner follows from the band boundaries:
 * no shard is looked at.
 */
function cellOwners(order: MapOrder, geo: GridGeometry, cells: number): Int32Array {
  const owners = new Int32Array(cells).fill(-1);
  const share = new Int32Array(cells);
  // The last two bands: the unassigned shards, then the absent ones.
  const nodes = order.bandCount - 2;
  for (let b = 0; b < order.bandCount; b++) {
    if (b === nodes) continue;
    const from = Math.max(order.bandStart(b), geo.start);
    const to = Math.min(order.bandStart(b) + order.shardsIn(b).length, geo.end);
    for (let p = from; p < to; ) {
      const c = Math.floor((p - geo.start) / geo.perCell);
      const cellEnd = Math.min(geo.start + (c + 1) * geo.perCell, to);
      if (cellEnd - p > share[c]!) {
        share[c] = cellEnd - p;
        owners[c] = b < nodes ? b : ABSENT_OWNER;
      }
      p = cellEnd;
    }
  }
  return owners;
}

/** Every position of the window with its shard, band by band. */
function forEachInWindow(order: MapOrder, geo: GridGeometry, visit: (position: number, id: number) => void): void {
  for (let b = 0; b < order.bandCount; b++) {
    const start = order.bandStart(b);
    const ids = order.shardsIn(b);
    const from = Math.max(start, geo.start);
    const to = Math.min(start + ids.length, geo.end);
    for (let p = from; p < to; p++) visit(p, ids[p - start]!);
  }
}
