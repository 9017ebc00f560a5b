/**
 * The shard map as a grid of cells, pure. Every shard is on screen at once, grouped by owner: when the pane has fewer
 * cells than the cluster has shards, each cell stands for a run of shards and shows the most urgent state among
 * them; zooming in (enter) shows one shard per cell around the cursor. Each row is built as one styled string.
 */
import { SHARD_FLAG, SHARD_STATE_INDEX, SHARD_STATES, type ShardColumns, type ShardState } from '../../core/view/index.js';
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
 * absent high shards last), so each node
 * shows as one band whose length is its share and a row changes colour once per band rather than once per cell
 * (Ink re-parses every escape code of every frame). In ID order within a band, or hottest first in a heatmap.
 */
export interface MapOrder {
  /** Shard ID at each position. */
  readonly order: Int32Array;
  /** Position of each shard ID. */
  readonly position: Int32Array;
}

export function mapOrder(shards: ShardColumns, nodeCount: number, mode: MapMode): MapOrder {
  const n = shards.state.length;
  const band = (id: number): number => {
    if (shards.state[id] === SHARD_STATE_INDEX.absent) return nodeCount + 1;
    const o = shards.current[id]! >= 0 ? shards.current[id]! : shards.target[id]!;
    return o >= 0 && o < nodeCount ? o : nodeCount;
  };
  // Counting sort by band: stable, so IDs stay ascending within a band.
  const starts = new Int32Array(nodeCount + 3);
  for (let id = 0; id < n; id++) starts[band(id) + 1]!++;
  for (let b = 1; b < starts.length; b++) starts[b]! += starts[b - 1]!;
  const next = starts.slice(0, nodeCount + 2);
  const order = new Int32Array(n);
  for (let id = 0; id < n; id++) order[next[band(id)]!++] = id;
  if (mode !== 'owner') {
    const metric = mode === 'objects' ? shards.objects : shards.calls;
    const value = (id: number): number => (metric[id]! > 0 ? metric[id]! : 0);
    for (let b = 0; b <= nodeCount + 1; b++) {
      const slice = order.subarray(starts[b]!, starts[b + 1]!);
      slice.sort((x, y) => value(y) - value(x) || x - y);
    }
  }
  const position = new Int32Array(n);
  for (let p = 0; p < n; p++) position[order[p]!] = p;
  return { order, position };
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
}

/**
 * Cells for `numShards` positions in a `width` x `height` area: one per cell when they fit (or when zoomed), else
 * the smallest run length that fits. Zoomed, the window starts at the row holding position `zoomStart`, kept inside.
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

/** The grid's rows as styled strings, each at most `geo.cols` columns wide. */
export function renderGrid(shards: ShardColumns, order: MapOrder, geo: GridGeometry, theme: Theme, options: GridRenderOptions): RenderedGrid {
  const cells = Math.ceil((geo.end - geo.start) / geo.perCell);
  const glyphs: string[] = new Array<string>(cells);
  const colours = new Int16Array(cells);
  const values = options.mode === 'owner' ? null : new Float64Array(cells);
  const metric = options.mode === 'objects' ? shards.objects : shards.calls;
  const ownerCount = new Map<number, number>();
  for (let c = 0; c < cells; c++) {
    const first = geo.start + c * geo.perCell;
    const last = Math.min(geo.end, first + geo.perCell);
    let worst = 0;
    let sum = 0;
    let anyMatch = options.matches === undefined;
    ownerCount.clear();
    for (let p = first; p < last; p++) {
      const id = order.order[p]!;
      const m = MARK_TABLE[shards.state[id]! * 4 + (shards.flags[id]! & MARK_BITS)]!;
      if (m > worst) worst = m;
      // NaN (not reported) counts as nothing.
      if (values !== null && metric[id]! > 0) sum += metric[id]!;
      const o = shards.current[id]! >= 0 ? shards.current[id]! : shards.target[id]!;
      if (o >= 0) ownerCount.set(o, (ownerCount.get(o) ?? 0) + 1);
      if (!anyMatch && options.matches!(id)) anyMatch = true;
    }
    if (!anyMatch) {
      glyphs[c] = '·';
      colours[c] = DIMMED;
      continue;
    }
    if (values !== null) {
      values[c] = sum;
      continue;
    }
    const owner = majority(ownerCount);
    const mark = SHARD_MARKS[worst]!;
    if (mark === 'stable' || mark === 'pinned') {
      glyphs[c] = owner < 0 ? MARK_GLYPH['no-target'] : mark === 'pinned' ? ownerLetter(owner).toUpperCase() : ownerLetter(owner);
      colours[c] = owner < 0 ? PLAIN : ownerColour(owner);
    } else {
      glyphs[c] = MARK_GLYPH[mark];
      colours[c] = STATE_COLOURS[mark] ?? (owner < 0 ? PLAIN : ownerColour(owner));
    }
  }
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
