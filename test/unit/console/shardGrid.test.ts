import { describe, expect, it } from 'vitest';
import { SHARD_FLAG, SHARD_STATE_INDEX, type ShardColumns, type ShardState } from '../../../src/core/view/index.js';
import { cellOf, cellRange, gridGeometry, renderGrid } from '../../../src/console/model/shardGrid.js';
import { createTheme } from '../../../src/console/theme.js';
import { stripAnsi } from './fixtures.js';

const plain = createTheme(false);
const coloured = createTheme(true);

type Kind = ShardState | 'pinned' | 'stuck';

/** Columns as the data model builds them: state, flags, owner (current) per shard. */
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

describe('shard grid geometry', () => {
  it('shows one shard per cell when they fit', () => {
    const g = gridGeometry(64, 20, 10, null);
    expect(g).toEqual({ cols: 20, rows: 4, perCell: 1, start: 0, end: 64 });
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
    const g = gridGeometry(8192, 78, 12, 1000);
    expect(g.perCell).toBe(1);
    expect(g.start % 78).toBe(0);
    expect(g.start).toBeLessThanOrEqual(1000);
    expect(g.end).toBe(g.start + 78 * 12);
    const last = gridGeometry(8192, 78, 12, 8191);
    expect(last.end).toBe(8192);
    expect(last.start).toBeLessThanOrEqual(8192 - 78 * 11);
    expect(cellOf(last, 0)).toBe(-1);
  });
});

describe('shard grid rendering', () => {
  it('marks owners by letter, pins in upper case, and states by symbols, readable without colour', () => {
    const kinds: Kind[] = ['stable', 'pinned', 'migrating', 'stuck', 'orphaned', 'no-target', 'unclaimed', 'stable'];
    const g = gridGeometry(8, 8, 1, null);
    const { lines } = renderGrid(input(8, (i) => (i === 5 ? -1 : i % 2), (i) => kinds[i]!), g, plain, { mode: 'owner', cursor: null });
    expect(lines).toEqual(['aB>!?.~b']);
  });

  it('an aggregated cell shows its most urgent shard and its majority owner', () => {
    const g = gridGeometry(8, 2, 1, null);
    expect(g.perCell).toBe(4);
    const { lines } = renderGrid(input(8, (i) => (i < 3 ? 1 : 0), (i) => (i === 6 ? 'stuck' : 'stable')), g, plain, {
      mode: 'owner',
      cursor: null,
    });
    expect(lines).toEqual(['b!']);
  });

  it('shows the cursor in inverse video and dims shards outside the filter', () => {
    const g = gridGeometry(4, 4, 1, null);
    const { lines } = renderGrid(input(4, () => 0), g, plain, { mode: 'owner', cursor: 2, matches: (id) => id === 1 });
    expect(lines[0]).toBe(`·a${plain.inverse('·')}·`);
  });

  it('colours owners and keeps the text identical to the plain rendering', () => {
    const g = gridGeometry(6, 6, 1, null);
    const inp = input(6, (i) => i % 3);
    const c = renderGrid(inp, g, coloured, { mode: 'owner', cursor: null }).lines[0]!;
    expect(c).toContain('\u001b[38;5;');
    expect(stripAnsi(c)).toBe(renderGrid(inp, g, plain, { mode: 'owner', cursor: null }).lines[0]);
  });

  it('heatmap: glyph density grows with the metric on a log scale; zero is the lightest glyph', () => {
    const inp = input(4, () => 0);
    inp.calls.set([Number.NaN, 1, 100, 10_000]);
    const g = gridGeometry(4, 4, 1, null);
    const { lines, heatMax } = renderGrid(inp, g, plain, { mode: 'calls', cursor: null });
    expect(heatMax).toBe(10_000);
    const row = lines[0]!;
    expect(row[0]).toBe('.');
    expect(row[3]).toBe('@');
    const ramp = '.:-=+*#%@';
    expect(ramp.indexOf(row[1]!)).toBeLessThan(ramp.indexOf(row[2]!));
  });

  it('renders 8192 shards in rows no wider than the pane', () => {
    const inp = input(8192, (i) => i % 100);
    const g = gridGeometry(8192, 78, 12, null);
    const { lines } = renderGrid(inp, g, coloured, { mode: 'owner', cursor: 4000 });
    expect(lines.length).toBeLessThanOrEqual(12);
    for (const l of lines) expect(stripAnsi(l).length).toBeLessThanOrEqual(78);
  });
});
