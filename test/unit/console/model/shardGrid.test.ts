import { describe, expect, it } from 'vitest';
import { SHARD_FLAG, SHARD_STATE_INDEX, type ShardColumns, type ShardState } from '../../../../src/core/view/index.js';
import { cellOf, cellRange, gridGeometry, heatOrder, type MapMode, type MapOrder, renderGrid } from '../../../../src/console/model/shardGrid.js';
import { ShardIndex } from '../../../../src/core/view/shardIndex.js';
import { createTheme } from '../../../../src/console/theme.js';
import { stripAnsi } from '../fixtures.js';

const plain = createTheme(false);
const coloured = createTheme(true);

type Kind = ShardState | 'pinned' | 'stuck';

/** Columns as the data model builds them: state, flags, owner (current and target) per shard. */
function input(numShards: number, owner: (id: number) => number, kind: (id: number) => Kind = () => 'stable'): ShardColumns {
  const cols: ShardColumns = {
    state: new Uint8Array(numShards),
    flags: new Uint8Array(numShards),
    target: new Int32Array(numShards).fill(-1),
    current: new Int32Array(numShards).fill(-1),
    objects: new Float64Array(numShards).fill(Number.NaN),
    calls: new Float64Array(numShards).fill(Number.NaN),
  };
  for (let i = 0; i < numShards; i++) {
    const k = kind(i);
    cols.state[i] = SHARD_STATE_INDEX[k === 'pinned' ? 'stable' : k === 'stuck' ? 'migrating' : k];
    cols.flags[i] = k === 'pinned' ? SHARD_FLAG.pinned : k === 'stuck' ? SHARD_FLAG.stuck | SHARD_FLAG.inMigration : 0;
    cols.current[i] = owner(i);
    cols.target[i] = owner(i);
  }
  return cols;
}

const nodesOf = (cols: ShardColumns): number => Math.max(0, ...cols.current) + 1;

/** The order the console uses: the view's layout for the owner map (notable shards known), else a heatmap's. */
function mapOrder(cols: ShardColumns, nodes: number, mode: MapMode): MapOrder {
  const absent = (id: number): boolean => cols.state[id] === SHARD_STATE_INDEX.absent;
  const notable = (id: number): boolean => (cols.state[id] !== SHARD_STATE_INDEX.stable && !absent(id)) || (cols.flags[id]! & SHARD_FLAG.pinned) !== 0;
  const layout = new ShardIndex(nodes, cols.current, cols.target, absent, notable);
  return mode === 'owner' ? layout : heatOrder(layout, mode === 'objects' ? cols.objects : cols.calls);
}

const orderOf = (order: MapOrder): number[] => Array.from({ length: order.size }, (_, p) => order.idAt(p));

function draw(cols: ShardColumns, width: number, height: number, options: { mode?: MapMode; cursorId?: number; matches?: (id: number) => boolean; theme?: typeof plain } = {}) {
  const mode = options.mode ?? 'owner';
  const order = mapOrder(cols, nodesOf(cols), mode);
  const geo = gridGeometry(cols.state.length, width, height, null);
  const cursor = options.cursorId === undefined ? null : order.positionOf(options.cursorId);
  return renderGrid(cols, order, geo, options.theme ?? plain, { mode, cursor, ...(options.matches ? { matches: options.matches } : {}) });
}

describe('shard map order', () => {
  it('groups shards by owner (current, else target), IDs ascending, unassigned last', () => {
    const cols = input(6, (i) => [1, 0, -1, 1, 0, 0][i]!);
    cols.current[5] = -1; // targeted at node 0, not claimed yet: still in node 0's band
    const order = mapOrder(cols, 2, 'owner');
    expect(orderOf(order)).toEqual([1, 4, 5, 0, 3, 2]);
    for (let p = 0; p < 6; p++) expect(order.positionOf(order.idAt(p))).toBe(p);
  });

  it('in a heatmap the hottest shards come first within each band', () => {
    const cols = input(6, (i) => (i < 3 ? 0 : 1));
    cols.calls.set([1, 9, 5, Number.NaN, 2, 7]);
    expect(orderOf(mapOrder(cols, 2, 'calls'))).toEqual([1, 2, 0, 5, 4, 3]);
  });
});

describe('shard grid geometry', () => {
  it('shows one shard per cell when they fit', () => {
    expect(gridGeometry(64, 20, 10, null)).toEqual({ cols: 20, rows: 4, perCell: 1, start: 0, end: 64, level: 0, whole: 1 });
  });

  it('aggregates 8192 shards into runs when the pane is small (80x24 leaves about 78x12)', () => {
    const g = gridGeometry(8192, 78, 12, null);
    expect(g.perCell).toBe(9);
    expect(g.rows).toBeLessThanOrEqual(12);
    expect(cellOf(g, 0)).toBe(0);
    expect(cellOf(g, 8191)).toBe(Math.floor(8191 / 9));
    expect(cellRange(g, 1)).toEqual([9, 17]);
    expect(cellRange(g, cellOf(g, 8191))).toEqual([8190, 8191]);
  });

  it('zoomed in shows one shard per cell in a window that starts at a row and stays inside the shards', () => {
    const g = gridGeometry(8192, 78, 12, { level: 1, start: 1000 });
    expect(g.perCell).toBe(1);
    expect(g.start % 78).toBe(0);
    expect(g.start).toBeLessThanOrEqual(1000);
    expect(g.end).toBe(g.start + 78 * 12);
    const last = gridGeometry(8192, 78, 12, { level: 5, start: 8191 });
    expect(last.level).toBe(1);
    expect(last.end).toBe(8192);
    expect(last.start).toBeLessThanOrEqual(8192 - 78 * 11);
    expect(cellOf(last, 0)).toBe(-1);
  });
});

describe('shard grid rendering', () => {
  it('marks owners by letter, pins in upper case, and states by symbols, readable without colour', () => {
    const kinds: Kind[] = ['stable', 'pinned', 'migrating', 'stuck', 'orphaned', 'no-target', 'unclaimed', 'stable'];
    const cols = input(8, (i) => (i === 5 ? -1 : i % 2), (i) => kinds[i]!);
    // Node 0's band: shards 0 2 4 6; node 1's: 1 3 7; then the unassigned shard 5.
    expect(draw(cols, 8, 1).lines).toEqual(['a>?~B!b.']);
  });

  it('an aggregated cell shows its most urgent shard and its majority owner', () => {
    const cols = input(8, (i) => (i < 3 ? 1 : 0), (i) => (i === 6 ? 'stuck' : 'stable'));
    const { lines } = draw(cols, 2, 1);
    // Positions: node 0 owns 3..7 (stuck 6 among them), node 1 owns 0..2.
    expect(lines).toEqual(['!b']);
  });

  it('shows the cursor in inverse video and dims shards outside the filter', () => {
    const cols = input(4, () => 0);
    expect(draw(cols, 4, 1, { cursorId: 2, matches: (id) => id === 1 }).lines[0]).toBe(`·a${plain.inverse('·')}·`);
  });

  it('paints one colour run per owner band, and keeps the text identical to the plain rendering', () => {
    const cols = input(60, (i) => i % 3);
    const c = draw(cols, 60, 1, { theme: coloured }).lines[0]!;
    // Three colour codes (one per band) and the reset at the end of the line.
    expect(c.split('\u001b[').length - 1).toBe(4);
    expect(stripAnsi(c)).toBe(draw(cols, 60, 1).lines[0]);
  });

  it('heatmap: glyph density grows with the metric on a log scale; zero is the lightest glyph', () => {
    const cols = input(4, () => 0);
    cols.calls.set([Number.NaN, 1, 100, 10_000]);
    const { lines, heatMax } = draw(cols, 4, 1, { mode: 'calls' });
    expect(heatMax).toBe(10_000);
    // Hottest first within the band: 10000, 100, 1, nothing.
    const row = lines[0]!;
    expect(row[0]).toBe('@');
    expect(row[3]).toBe('.');
    const ramp = '.:-=+*#%@';
    expect(ramp.indexOf(row[1]!)).toBeGreaterThan(ramp.indexOf(row[2]!));
  });

  it('at 65,536 shards each zoom level divides the shards per cell by 8 (then 1), in a window of whole rows inside the shards', () => {
    const levels = [0, 1, 2].map((level) => gridGeometry(65_536, 78, 12, { level, start: 30_000 }));
    expect(levels.map((g) => g.perCell)).toEqual([71, 9, 1]);
    for (const g of levels.slice(1)) {
      expect(g.start % (78 * g.perCell)).toBe(0);
      expect(g.start).toBeLessThanOrEqual(30_000);
      expect(g.end).toBeGreaterThan(30_000);
      expect(g.end - g.start).toBe(78 * 12 * g.perCell);
    }
  });

  it('an aggregated cell at 65,536 shards shows the most urgent of its shards: stuck over orphaned over migrating', () => {
    const cols = input(65_536, (i) => i % 1000, (i) => (i === 1000 ? 'stuck' : i === 2000 || i === 66 ? 'orphaned' : i === 3000 || i === 67 ? 'migrating' : 'stable'));
    const lines = draw(cols, 78, 12).lines.join('');
    // Node 0's band holds 0, 1000, 2000, 3000 ... in its first cells; node 66 and 67's bands start further on.
    expect(lines[0]).toBe('!');
    expect(lines.split('!').length - 1).toBe(1);
    expect(lines).toContain('?');
    expect(lines).toContain('>');
  });

  it('renders 8192 shards of 100 nodes in rows no wider than the pane, with few escape codes', () => {
    const cols = input(8192, (i) => i % 100);
    const { lines } = draw(cols, 78, 12, { theme: coloured, cursorId: 4000 });
    expect(lines.length).toBeLessThanOrEqual(12);
    for (const l of lines) expect(stripAnsi(l).length).toBeLessThanOrEqual(78);
    const escapes = lines.join('').split('\u001b[').length - 1;
    // One colour code per band plus one per line start and end, and the cursor's two.
    expect(escapes).toBeLessThanOrEqual(100 + 2 * 12 + 2);
  });
});
