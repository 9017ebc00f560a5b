/** Moving the selection (lists and the shard map) and the list sort: pure steps of the key reducer (ui.ts). */
import type { KeyContext, ListUi, MapContext, MapUi, UiState } from './ui.js';

export type MoveAction = 'up' | 'down' | 'left' | 'right' | 'pageUp' | 'pageDown' | 'top' | 'bottom';

export function move(ui: UiState, action: MoveAction, ctx: KeyContext): UiState {
  if (ui.focus === 'shards') return { ...ui, map: moveMap(ui.map, action, ctx.map, ctx.numShards) };
  const pane = ui.focus;
  const list = ui.lists[pane];
  const { keys, pageSize } = ctx.lists[pane];
  if (keys.length === 0) return ui;
  const at = Math.max(0, list.cursor === null ? 0 : keys.indexOf(list.cursor));
  const page = Math.max(1, pageSize);
  const delta: Record<MoveAction, number> = {
    up: -1,
    down: 1,
    left: 0,
    right: 0,
    pageUp: -page,
    pageDown: page,
    top: -keys.length,
    bottom: keys.length,
  };
  const index = clamp(at + delta[action], 0, keys.length - 1);
  const offset = clamp(list.offset, index - page + 1, index);
  return { ...ui, lists: { ...ui.lists, [pane]: { ...list, cursor: keys[index]!, offset } } };
}

/** Moves through map positions (owner bands), not shard IDs: the cursor goes where the eye does. */
function moveMap(map: MapUi, action: MoveAction, ctx: MapContext | null, numShards: number): MapUi {
  if (ctx === null) return map;
  const { geo, order, pageRows } = ctx;
  const row = geo.cols * geo.perCell;
  const delta: Record<MoveAction, number> = {
    up: -row,
    down: row,
    left: -geo.perCell,
    right: geo.perCell,
    pageUp: -row * Math.max(1, pageRows),
    pageDown: row * Math.max(1, pageRows),
    top: -numShards,
    bottom: numShards,
  };
  const position = clamp(order.positionOf(map.cursor) + delta[action], 0, numShards - 1);
  const cursor = order.idAt(position);
  if (map.zoom === null || (position >= geo.start && position < geo.end)) return { ...map, cursor };
  // Zoomed: scroll the window by whole rows so the cursor stays in view.
  const rowStart = position - (position % row);
  const start = position < geo.start ? rowStart : Math.max(0, rowStart - (Math.max(1, pageRows) - 1) * row);
  return { ...map, cursor, zoom: { ...map.zoom, start } };
}

export function sort(ui: UiState, action: 'sortPrev' | 'sortNext' | 'sortInvert', ctx: KeyContext): UiState {
  if (ui.focus === 'shards') return ui;
  const pane = ui.focus;
  const list = ui.lists[pane];
  const n = Math.max(1, ctx.lists[pane].columns);
  const next: ListUi =
    action === 'sortInvert'
      ? { ...list, descending: !list.descending }
      : { ...list, sortColumn: (list.sortColumn + (action === 'sortNext' ? 1 : n - 1)) % n };
  return { ...ui, lists: { ...ui.lists, [pane]: next } };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}
