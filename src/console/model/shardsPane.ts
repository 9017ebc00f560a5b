/**
 * The shard map pane, pure: title, grid, the line describing the shard under the cursor, and a legend. The filter
 * matches shard IDs, node addresses, states and flags without building a string per shard.
 */
import { printable } from '../../core/text/printable.js';
import { SHARD_FLAG, SHARD_STATES, shardRow, type ClusterView } from '../../core/view/index.js';
import { compactNumber } from '../text.js';
import type { Theme } from '../theme.js';
import {
  cellOf,
  cellRange,
  type GridGeometry,
  gridGeometry,
  MARK_GLYPH,
  type MapMode,
  type MapOrder,
  mapOrder,
  ownerColour,
  ownerLetter,
  renderGrid,
} from './shardGrid.js';
import type { Filter, MapContext, MapUi } from './ui.js';

export interface ShardsPane {
  readonly title: string;
  readonly lines: readonly string[];
  readonly map: MapContext;
}

/** Lines under the title besides the grid: the cursor line and the legend. */
const EXTRA_LINES = 2;

/** A predicate over shard IDs for the map filter, or undefined without one. */
export function shardMatcher(view: ClusterView, filter: Filter | null): ((id: number) => boolean) | undefined {
  if (filter === null) return undefined;
  const needle = filter.text.toLowerCase();
  const nodeHit = view.nodes.map((n) => n.address.toLowerCase().includes(needle));
  const stateHit = SHARD_STATES.map((s) => s.includes(needle));
  const pinnedHit = 'pinned'.includes(needle);
  const stuckHit = 'stuck'.includes(needle);
  const { state, flags, target, current } = view.shards;
  return (id) => {
    const f = flags[id]!;
    const hit =
      String(id).includes(needle) ||
      stateHit[state[id]!]! ||
      (target[id]! >= 0 && nodeHit[target[id]!]!) ||
      (current[id]! >= 0 && nodeHit[current[id]!]!) ||
      (pinnedHit && (f & SHARD_FLAG.pinned) !== 0) ||
      (stuckHit && (f & SHARD_FLAG.stuck) !== 0);
    return filter.inverse ? !hit : hit;
  };
}

/** The layout order per view and mode: rebuilt when the view changes, reused while only the cursor moves. */
const orders = new WeakMap<ClusterView, Map<MapMode, MapOrder>>();

function orderOf(view: ClusterView, mode: MapMode): MapOrder {
  let byMode = orders.get(view);
  if (byMode === undefined) orders.set(view, (byMode = new Map()));
  let order = byMode.get(mode);
  if (order === undefined) byMode.set(mode, (order = mapOrder(view.shards, view.nodes.length, mode)));
  return order;
}

export function shardsPane(view: ClusterView, ui: MapUi, size: { width: number; height: number }, theme: Theme, focused: boolean): ShardsPane {
  const numShards = view.snapshot.numShards;
  const pageRows = Math.max(1, size.height - 1 - EXTRA_LINES);
  const order = orderOf(view, ui.mode);
  const geo = gridGeometry(numShards, size.width, pageRows, ui.zoom);
  const cursor = Math.min(ui.cursor, numShards - 1);
  const position = order.position[cursor]!;
  const grid = renderGrid(view.shards, order, geo, theme, {
    mode: ui.mode,
    cursor: focused ? position : null,
    matches: shardMatcher(view, ui.filter),
  });
  const scope = geo.perCell > 1 ? `${geo.perCell} per cell` : ui.zoom !== null ? 'zoomed in, esc zooms out' : '1 per cell';
  const filter = ui.filter === null ? '' : ` │ filter ${ui.filter.inverse ? '!' : ''}${printable(ui.filter.text)}`;
  const mode = ui.mode === 'owner' ? 'owners' : `${ui.mode} heatmap, hottest cell ${compactNumber(grid.heatMax)}${ui.mode === 'calls' ? '/s' : ''}`;
  return {
    title: `${shardsTitle(view)} by owner, ${scope} │ ${mode} (m)${filter}`,
    lines: [...grid.lines, cursorLine(view, geo, order, cursor, theme), legend(view, ui.mode, theme)],
    map: { geo, order, pageRows },
  };
}

/**
 * How many shards the map shows: the count in force; during a transition the layout's shards of the larger count
 * the map is laid out over (the rest are the absent high shards, `_`).
 */
export function shardsTitle(view: ClusterView): string {
  const r = view.reshard;
  if (r === null) return `${view.snapshot.numShards} shards`;
  return `${view.counts.total} of ${view.snapshot.numShards} shards (${r.kind} ${r.from}→${r.to}${r.state === 'aborting' ? ', aborting' : ''})`;
}

/** What an absent high shard is during the transition: its pair not split yet, or merged already. */
export function absentMeaning(view: ClusterView): string | null {
  const r = view.reshard;
  if (r === null) return null;
  return r.goal === 'split' ? 'not split yet' : 'merged';
}

function cursorLine(view: ClusterView, geo: GridGeometry, order: MapOrder, id: number, theme: Theme): string {
  const row = shardRow(view, id);
  const cell = cellOf(geo, order.position[id]!);
  const [first, last] = cell < 0 ? [0, 0] : cellRange(geo, cell);
  const range = last > first ? ` (1 of ${last - first + 1} in the cell, enter zooms)` : '';
  const flags = [row.pinned ? 'pinned' : '', row.stuck ? theme.tone('STUCK', 'bad') : ''].filter((f) => f !== '').join(' ');
  const load = `obj ${compactNumber(row.objects)} calls ${compactNumber(row.calls)}/s`;
  if (row.state === 'absent' && view.reshard !== null) {
    return `${theme.bold(`▶ shard ${id}`)}${range} absent: ${absentMeaning(view)}, its objects are served by shard ${id - view.reshard.pairs}`;
  }
  return `${theme.bold(`▶ shard ${id}`)}${range} ${row.state}${flags === '' ? '' : ` ${flags}`} target ${printable(row.target || '-')} current ${printable(row.current || '-')} ${load}`;
}

/** Owners first (their letters in their colours), then the symbols; `?` shows the full legend. */
function legend(view: ClusterView, mode: MapMode, theme: Theme): string {
  if (mode !== 'owner') return theme.tone('. cold : - = + * # % @ hot (log scale)', 'muted');
  const absent = absentMeaning(view);
  const symbols =
    `A=pinned ${MARK_GLYPH.unclaimed}=unclaimed ${MARK_GLYPH.migrating}=migrating ${MARK_GLYPH.orphaned}=orphaned ${MARK_GLYPH.stuck}=stuck ${MARK_GLYPH['no-target']}=no target` +
    (absent === null ? '' : ` ${MARK_GLYPH.absent}=${absent}`);
  const owners = view.nodes
    .filter((n) => n.shardsOwned > 0 || n.shardsTarget > 0)
    .map((n) => `${theme.fg(ownerLetter(n.index), ownerColour(n.index))}=${printable(n.address)}`)
    .join(' ');
  return `${owners}${owners === '' ? '' : ' │ '}${theme.tone(symbols, 'muted')}`;
}
