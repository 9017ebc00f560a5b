/**
 * The shard map pane, pure: title, grid, the line describing the shard under the cursor, and a legend. The filter
 * matches shard IDs, node addresses, states and flags without building a string per shard.
 */
import { printable } from '../../core/text/printable.js';
import { SHARD_FLAG, SHARD_STATES, shardRow, type ClusterView, type ShardLayout } from '../../core/view/index.js';
import { compactNumber } from '../text.js';
import type { Theme } from '../theme.js';
import {
  cellOf,
  cellRange,
  type GridGeometry,
  gridGeometry,
  MARK_GLYPH,
  type MapMode,
  heatOrder,
  type MapOrder,
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

/** How long a heatmap's order (every band sorted by its figure) is reused: figures change with each scrape. */
const HEAT_ORDER_REUSE_MS = 1000;

/**
 * Heatmap orders per layout (the view's layout lives across incremental rebuilds): sorting every shard by its
 * figure on every frame would cost more than the frame, while an order a second old only places the few shards that
 * changed hands since in their former band.
 */
const heatOrders = new WeakMap<ShardLayout, { readonly mode: MapMode; readonly at: number; readonly order: MapOrder }>();

/** The owner map is the view's layout itself; a heatmap sorts each band, hottest first. */
function orderOf(view: ClusterView, mode: MapMode): MapOrder {
  if (mode === 'owner') return view.layout;
  const held = heatOrders.get(view.layout);
  if (held !== undefined && held.mode === mode && view.now >= held.at && view.now - held.at < HEAT_ORDER_REUSE_MS) return held.order;
  const order = heatOrder(view.layout, mode === 'objects' ? view.shards.objects : view.shards.calls);
  heatOrders.set(view.layout, { mode, at: view.now, order });
  return order;
}

export function shardsPane(view: ClusterView, ui: MapUi, size: { width: number; height: number }, theme: Theme, focused: boolean): ShardsPane {
  const numShards = view.snapshot.numShards;
  const pageRows = Math.max(1, size.height - 1 - EXTRA_LINES);
  const order = orderOf(view, ui.mode);
  const geo = gridGeometry(numShards, size.width, pageRows, ui.zoom);
  const cursor = Math.min(ui.cursor, numShards - 1);
  const position = order.positionOf(cursor);
  const grid = renderGrid(view.shards, order, geo, theme, {
    mode: ui.mode,
    cursor: focused ? position : null,
    matches: shardMatcher(view, ui.filter),
  });
  const scope = `${geo.perCell} per cell${geo.level > 0 ? ', zoomed in, esc zooms out' : ''}`;
  const filter = ui.filter === null ? '' : ` │ filter ${ui.filter.inverse ? '!' : ''}${printable(ui.filter.text)}`;
  const mode = ui.mode === 'owner' ? 'owners' : `${ui.mode} heatmap, hottest cell ${compactNumber(grid.heatMax)}${ui.mode === 'calls' ? '/s' : ''}`;
  return {
    title: `${shardsTitle(view)} by owner, ${scope} │ ${mode} (m)${filter}`,
    lines: [...grid.lines, cursorLine(view, geo, order, cursor, theme), legend(view, ui.mode, theme, size.width)],
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
  const cell = cellOf(geo, order.positionOf(id));
  const [first, last] = cell < 0 ? [0, 0] : cellRange(geo, cell);
  const range = last > first ? ` (1 of ${last - first + 1} in the cell, enter zooms)` : '';
  const flags = [row.pinned ? 'pinned' : '', row.stuck ? theme.tone('STUCK', 'bad') : ''].filter((f) => f !== '').join(' ');
  const load = `obj ${compactNumber(row.objects)} calls ${compactNumber(row.calls)}/s`;
  if (row.state === 'absent' && view.reshard !== null) {
    return `${theme.bold(`▶ shard ${id}`)}${range} absent: ${absentMeaning(view)}, its objects are served by shard ${id - view.reshard.pairs}`;
  }
  return `${theme.bold(`▶ shard ${id}`)}${range} ${row.state}${flags === '' ? '' : ` ${flags}`} target ${printable(row.target || '-')} current ${printable(row.current || '-')} ${load}`;
}

/**
 * Owners first (their letters in their colours), as many as fit the width (a thousand nodes would make a line no
 * terminal shows), then the symbols; `?` shows the full legend.
 */
function legend(view: ClusterView, mode: MapMode, theme: Theme, width: number): string {
  if (mode !== 'owner') return theme.tone('. cold : - = + * # % @ hot (log scale)', 'muted');
  const absent = absentMeaning(view);
  const symbols =
    `A=pinned ${MARK_GLYPH.unclaimed}=unclaimed ${MARK_GLYPH.migrating}=migrating ${MARK_GLYPH.orphaned}=orphaned ${MARK_GLYPH.stuck}=stuck ${MARK_GLYPH['no-target']}=no target` +
    (absent === null ? '' : ` ${MARK_GLYPH.absent}=${absent}`);
  const owners: string[] = [];
  let used = 0;
  for (const n of view.nodes) {
    if (used > width) break;
    if (n.shardsOwned === 0 && n.shardsTarget === 0) continue;
    const address = printable(n.address);
    used += address.length + 3;
    owners.push(`${theme.fg(ownerLetter(n.index), ownerColour(n.index))}=${address}`);
  }
  return `${owners.join(' ')}${owners.length === 0 ? '' : ' │ '}${theme.tone(symbols, 'muted')}`;
}
