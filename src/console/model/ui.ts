/**
 * The console's UI state and its key reducer, pure: a key press plus what the last frame showed (row keys, page
 * sizes, the selection) gives the next UI state and at most one effect for the controller to carry out (quit, plan a
 * write, execute a confirmed write, copy). Nothing here touches etcd, timers or the terminal.
 */
import type { OperationPlan, OperationRequest } from '../../core/operations/operations.js';
import type { BalancerOutlook } from '../../core/operations/outlook.js';
import { type Action, bindingFor, isNamedKey, PANES, type PaneId } from '../keys.js';
import { completeCommand, DEFAULT_PAUSE_MS, parseCommand, pauseRequest } from './palette.js';
import { move, sort } from './navigation.js';
import { type GridGeometry, MAP_MODES, type MapMode, type MapOrder, type MapZoom, zoomedPerCell } from './shardGrid.js';

export type ListPane = Exclude<PaneId, 'shards'>;
export const LIST_PANES: readonly ListPane[] = ['nodes', 'stuck', 'locks', 'rebalance'];

/** A row filter: substring match, case-insensitive; `inverse` keeps the rows that do not match (`/!text`). */
export interface Filter {
  readonly text: string;
  readonly inverse: boolean;
}

export interface ListUi {
  /** The key of the selected row (rows keep their selection when the data re-sorts). */
  readonly cursor: string | null;
  /** First row shown. */
  readonly offset: number;
  readonly sortColumn: number;
  readonly descending: boolean;
  readonly filter: Filter | null;
}

export interface MapUi {
  /** The selected shard. */
  readonly cursor: number;
  /** Zoomed in (fewer shards per cell, down to one), or null for the whole map. */
  readonly zoom: MapZoom | null;
  readonly mode: MapMode;
  readonly filter: Filter | null;
}

/** What a details view or an action is about. */
export type Subject =
  | { readonly kind: 'shard'; readonly id: number; readonly pinned: boolean }
  | { readonly kind: 'node'; readonly address: string; readonly drained: boolean }
  /** A history entry, by its ID. */
  | { readonly kind: 'entry'; readonly key: string };

/** A planned write waiting for the operator's answer. */
export interface PendingWrite {
  readonly request: OperationRequest;
  readonly plan: OperationPlan;
  /** For a reassign: what the balancer would do next (null: nothing to say). */
  readonly outlook?: BalancerOutlook | null;
}

/**
 * The reassign a confirmation can turn into one that pins its shards in the same write, because the balancer would
 * move them back; null when it would not (or they are pinned already).
 */
export function pinnableReassign(pending: PendingWrite): Extract<OperationRequest, { kind: 'retarget' }> | null {
  const r = pending.request;
  return r.kind === 'retarget' && r.pin !== true && (pending.outlook?.movedBack.length ?? 0) > 0 ? r : null;
}

export type Overlay =
  | { readonly kind: 'none' }
  | { readonly kind: 'help'; readonly offset: number }
  | { readonly kind: 'palette'; readonly text: string }
  | { readonly kind: 'filter'; readonly text: string; readonly previous: Filter | null }
  | { readonly kind: 'details'; readonly subject: Subject; readonly offset: number }
  /** Choosing the new target of a reassign: null is "the best node". */
  | { readonly kind: 'pick'; readonly shards: readonly number[]; readonly options: readonly (string | null)[]; readonly index: number }
  | { readonly kind: 'confirm'; readonly pending: PendingWrite; readonly choice: 'cancel' | 'confirm' }
  /** A write is in flight: keys wait for its result. */
  | { readonly kind: 'busy'; readonly what: string };

export type StatusTone = 'info' | 'good' | 'warn' | 'bad';

export interface StatusLine {
  readonly text: string;
  readonly tone: StatusTone;
}

export interface UiState {
  readonly focus: PaneId;
  readonly lists: Readonly<Record<ListPane, ListUi>>;
  readonly map: MapUi;
  readonly overlay: Overlay;
  /** `Z`: the screen keeps showing the last data until resumed. */
  readonly frozen: boolean;
  readonly readOnly: boolean;
  readonly status: StatusLine | null;
}

export type Effect =
  | { readonly kind: 'quit' }
  | { readonly kind: 'plan'; readonly request: OperationRequest }
  | { readonly kind: 'execute'; readonly pending: PendingWrite }
  | { readonly kind: 'copy'; readonly text: string };

export interface ListContext {
  /** Row keys in display order (filtered and sorted). */
  readonly keys: readonly string[];
  readonly pageSize: number;
  readonly columns: number;
}

export interface MapContext {
  readonly geo: GridGeometry;
  readonly order: MapOrder;
  /** Grid rows on screen (for paging). */
  readonly pageRows: number;
}

/** What the last frame showed, as the reducer needs it. */
export interface KeyContext {
  readonly numShards: number;
  readonly lists: Readonly<Record<ListPane, ListContext>>;
  /** The shard map as shown; null when it is not on screen. */
  readonly map: MapContext | null;
  /** The focused pane's selected item. */
  readonly selection: Subject | null;
  readonly rebalancePaused: boolean;
  /** Nodes a reassign may pick: alive and eligible, in display order. */
  readonly targets: readonly string[];
  /** The furthest the open help or details dialog scrolls (its lines past the dialog's room); null: unknown. */
  readonly overlayScrollMax: number | null;
}

export interface Reduced {
  readonly ui: UiState;
  readonly effect?: Effect;
}

/** Default sort column per list (the figure operators look at first), and its direction. */
export const DEFAULT_SORT: Readonly<Record<ListPane, { readonly column: number; readonly descending: boolean }>> = {
  nodes: { column: 0, descending: false },
  stuck: { column: 1, descending: true },
  locks: { column: 3, descending: true },
  rebalance: { column: 0, descending: true },
};

export function initialUi(options: { readonly readOnly: boolean; readonly focus?: PaneId }): UiState {
  const list = (pane: ListPane): ListUi => ({
    cursor: null,
    offset: 0,
    sortColumn: DEFAULT_SORT[pane].column,
    descending: DEFAULT_SORT[pane].descending,
    filter: null,
  });
  return {
    focus: options.focus ?? 'shards',
    lists: { nodes: list('nodes'), stuck: list('stuck'), locks: list('locks'), rebalance: list('rebalance') },
    map: { cursor: 0, zoom: null, mode: 'owner', filter: null },
    overlay: { kind: 'none' },
    frozen: false,
    readOnly: options.readOnly,
    status: null,
  };
}

export function withStatus(ui: UiState, text: string, tone: StatusTone = 'info'): UiState {
  return { ...ui, status: { text, tone } };
}

export function withOverlay(ui: UiState, overlay: Overlay): UiState {
  return { ...ui, overlay };
}

/** Handles one key press (named as keys.ts `keyName` names it). */
export function reduceKey(ui: UiState, name: string, ctx: KeyContext): Reduced {
  if (name === 'ctrl-c') return { ui, effect: { kind: 'quit' } };
  switch (ui.overlay.kind) {
    case 'palette':
      return paletteKey(ui, ui.overlay.text, name, ctx);
    case 'filter':
      return filterKey(ui, ui.overlay, name);
    case 'confirm':
      return confirmKey(ui, ui.overlay, name);
    case 'pick':
      return pickKey(ui, ui.overlay, name);
    case 'help':
      return scrollOverlayKey(ui, ui.overlay, name, ctx);
    case 'details':
      return detailsKey(ui, ui.overlay, name, ctx);
    case 'busy':
      return { ui };
    case 'none':
      return normalKey(ui, name, ctx);
  }
}

function normalKey(ui: UiState, name: string, ctx: KeyContext): Reduced {
  const binding = bindingFor(name, ui.focus, ui.readOnly);
  if (binding === undefined) return { ui };
  const sel = ctx.selection;
  switch (binding.action) {
    case 'help':
      return { ui: withOverlay(ui, { kind: 'help', offset: 0 }) };
    case 'palette':
      return { ui: withOverlay(ui, { kind: 'palette', text: '' }) };
    case 'filter': {
      const previous = currentFilter(ui);
      const text = previous === null ? '' : `${previous.inverse ? '!' : ''}${previous.text}`;
      return { ui: withOverlay(ui, { kind: 'filter', text, previous }) };
    }
    case 'up':
    case 'down':
    case 'left':
    case 'right':
    case 'pageUp':
    case 'pageDown':
    case 'top':
    case 'bottom':
      return { ui: move(ui, binding.action, ctx) };
    case 'nextPane':
    case 'prevPane': {
      const i = PANES.indexOf(ui.focus);
      const step = binding.action === 'nextPane' ? 1 : PANES.length - 1;
      return { ui: { ...ui, focus: PANES[(i + step) % PANES.length]! } };
    }
    case 'details':
      if (ui.focus === 'shards' && ctx.map !== null && ctx.map.geo.perCell > 1) return { ui: { ...ui, map: { ...ui.map, zoom: zoomIn(ui.map, ctx.map) } } };
      return sel === null ? { ui } : { ui: withOverlay(ui, { kind: 'details', subject: sel, offset: 0 }) };
    case 'sortPrev':
    case 'sortNext':
    case 'sortInvert':
      return { ui: sort(ui, binding.action, ctx) };
    case 'heatmap':
      return { ui: showMapMode(ui, MAP_MODES[(MAP_MODES.indexOf(ui.map.mode) + 1) % MAP_MODES.length]!) };
    case 'freeze':
      return {
        ui: withStatus({ ...ui, frozen: !ui.frozen }, ui.frozen ? 'refresh resumed' : 'refresh paused: the screen shows frozen data (Z resumes)', ui.frozen ? 'info' : 'warn'),
      };
    case 'copy': {
      const text = sel === null ? null : sel.kind === 'shard' ? String(sel.id) : sel.kind === 'node' ? sel.address : null;
      return text === null ? { ui } : { ui: withStatus(ui, `copied ${text}`), effect: { kind: 'copy', text } };
    }
    case 'back':
      return { ui: back(ui) };
    case 'quit':
      return { ui, effect: { kind: 'quit' } };
    case 'pin':
      if (sel?.kind !== 'shard') return { ui: withStatus(ui, 'select a shard to pin', 'warn') };
      return { ui, effect: { kind: 'plan', request: { kind: sel.pinned ? 'unpin' : 'pin', shards: [sel.id] } } };
    case 'release':
      if (sel?.kind !== 'shard') return { ui: withStatus(ui, 'select a shard to release', 'warn') };
      return { ui, effect: { kind: 'plan', request: { kind: 'release', shards: [sel.id], refusals: 'refuse' } } };
    case 'reassign':
      if (sel?.kind !== 'shard') return { ui: withStatus(ui, 'select a shard to reassign', 'warn') };
      if (ctx.targets.length === 0) return { ui: withStatus(ui, 'no alive, eligible node to reassign to', 'bad') };
      return { ui: withOverlay(ui, { kind: 'pick', shards: [sel.id], options: [null, ...ctx.targets], index: 0 }) };
    case 'drain':
      if (sel?.kind !== 'node') return { ui: withStatus(ui, 'select a node to drain', 'warn') };
      return { ui, effect: { kind: 'plan', request: { kind: sel.drained ? 'undrain' : 'drain', node: sel.address } } };
    case 'pauseRebalance':
      return { ui, effect: { kind: 'plan', request: ctx.rebalancePaused ? { kind: 'resume' } : pauseRequest(DEFAULT_PAUSE_MS) } };
  }
}

/** The shard map in a colouring, focused so the change shows (`m` on the map, `:map` from any pane). */
function showMapMode(ui: UiState, mode: MapMode): UiState {
  return withStatus({ ...ui, focus: 'shards', map: { ...ui.map, mode } }, `shard map: ${mode === 'owner' ? 'owners' : `${mode} heatmap`}`);
}

function currentFilter(ui: UiState): Filter | null {
  return ui.focus === 'shards' ? ui.map.filter : ui.lists[ui.focus].filter;
}

function setFilter(ui: UiState, filter: Filter | null): UiState {
  if (ui.focus === 'shards') return { ...ui, map: { ...ui.map, filter } };
  const pane = ui.focus;
  return { ...ui, lists: { ...ui.lists, [pane]: { ...ui.lists[pane], filter, offset: 0 } } };
}

/**
 * One zoom level deeper, centred on the cursor: the window starts half a page of rows (at the new level) before it.
 */
function zoomIn(map: MapUi, ctx: MapContext): MapZoom {
  const level = ctx.geo.level + 1;
  const rowSpan = ctx.geo.cols * zoomedPerCell(ctx.geo.whole, level);
  const position = ctx.order.positionOf(map.cursor);
  return { level, start: Math.max(0, position - Math.floor(ctx.pageRows / 2) * rowSpan) };
}

/** `esc`: the innermost thing open is closed: a zoom level, then the filter, then the status message. */
function back(ui: UiState): UiState {
  const zoom = ui.map.zoom;
  if (ui.focus === 'shards' && zoom !== null) return { ...ui, map: { ...ui.map, zoom: zoom.level > 1 ? { ...zoom, level: zoom.level - 1 } : null } };
  if (currentFilter(ui) !== null) return setFilter(ui, null);
  return { ...ui, status: null };
}

export function parseFilter(text: string): Filter | null {
  const inverse = text.startsWith('!');
  const body = (inverse ? text.slice(1) : text).trim();
  return body === '' ? null : { text: body, inverse };
}

function filterKey(ui: UiState, overlay: Extract<Overlay, { kind: 'filter' }>, name: string): Reduced {
  if (name === 'escape') return { ui: withOverlay(setFilter(ui, overlay.previous), { kind: 'none' }) };
  if (name === 'return') return { ui: withOverlay(ui, { kind: 'none' }) };
  const text = editLine(overlay.text, name);
  if (text === null) return { ui };
  // Applied as typed, so the rows narrow down live.
  return { ui: withOverlay(setFilter(ui, parseFilter(text)), { ...overlay, text }) };
}

function paletteKey(ui: UiState, text: string, name: string, ctx: KeyContext): Reduced {
  if (name === 'escape') return { ui: withOverlay(ui, { kind: 'none' }) };
  if (name === 'tab') return { ui: withOverlay(ui, { kind: 'palette', text: completeCommand(text, ui.readOnly) }) };
  if (name !== 'return') {
    const next = editLine(text, name);
    return next === null ? { ui } : { ui: withOverlay(ui, { kind: 'palette', text: next }) };
  }
  const closed = withOverlay(ui, { kind: 'none' });
  if (text.trim() === '') return { ui: closed };
  const cmd = parseCommand(text, ctx.numShards, ui.readOnly);
  switch (cmd.kind) {
    case 'pane':
      return { ui: { ...closed, focus: cmd.pane } };
    case 'quit':
      return { ui: closed, effect: { kind: 'quit' } };
    case 'jump': {
      const zoom = ui.map.zoom === null || ctx.map === null ? ui.map.zoom : { ...ui.map.zoom, start: ctx.map.order.positionOf(cmd.shard) };
      return { ui: { ...closed, focus: 'shards', map: { ...ui.map, cursor: cmd.shard, zoom } } };
    }
    case 'mode':
      return { ui: showMapMode(closed, cmd.mode) };
    case 'write':
      return { ui: closed, effect: { kind: 'plan', request: cmd.request } };
    case 'error':
      return { ui: withStatus(closed, cmd.message, 'bad') };
  }
}

/** Line editing for prompts: printable characters append, backspace deletes; null for keys it ignores. */
function editLine(text: string, name: string): string | null {
  if (name === 'backspace') return text.slice(0, -1);
  // Pasted text arrives as one string; control characters never enter a prompt.
  if (isNamedKey(name) || [...name].some((ch) => ch < ' ' || ch === '\u007f')) return null;
  return text + name;
}

function confirmKey(ui: UiState, overlay: Extract<Overlay, { kind: 'confirm' }>, name: string): Reduced {
  const cancel = (): Reduced => ({ ui: withStatus(withOverlay(ui, { kind: 'none' }), `${overlay.pending.plan.operation} cancelled`) });
  switch (name) {
    case 'left':
    case 'right':
    case 'tab':
    case 'shift-tab':
    case 'h':
    case 'l':
      return { ui: withOverlay(ui, { ...overlay, choice: overlay.choice === 'cancel' ? 'confirm' : 'cancel' }) };
    case 'y':
      return { ui, effect: { kind: 'execute', pending: overlay.pending } };
    case 'p':
    case 'P': {
      // Offered when the balancer would move a reassign back: pin the shards in the same write, or pause first.
      const reassign = pinnableReassign(overlay.pending);
      if (reassign === null) return { ui };
      const request: OperationRequest = name === 'p' ? { ...reassign, pin: true } : pauseRequest(DEFAULT_PAUSE_MS);
      return { ui: withOverlay(ui, { kind: 'none' }), effect: { kind: 'plan', request } };
    }
    case 'return':
      return overlay.choice === 'confirm' ? { ui, effect: { kind: 'execute', pending: overlay.pending } } : cancel();
    case 'n':
    case 'escape':
    case 'q':
      return cancel();
    default:
      return { ui };
  }
}

function pickKey(ui: UiState, overlay: Extract<Overlay, { kind: 'pick' }>, name: string): Reduced {
  const n = overlay.options.length;
  switch (name) {
    case 'up':
    case 'k':
      return { ui: withOverlay(ui, { ...overlay, index: (overlay.index + n - 1) % n }) };
    case 'down':
    case 'j':
      return { ui: withOverlay(ui, { ...overlay, index: (overlay.index + 1) % n }) };
    case 'return':
      return {
        ui: withOverlay(ui, { kind: 'none' }),
        effect: { kind: 'plan', request: { kind: 'retarget', shards: overlay.shards, to: overlay.options[overlay.index] ?? null, refusals: 'refuse' } },
      };
    case 'escape':
    case 'q':
      return { ui: withStatus(withOverlay(ui, { kind: 'none' }), 'reassign cancelled') };
    default:
      return { ui };
  }
}

/** The write keys a details dialog offers in its footer: they act on the shard or node it shows. */
const SUBJECT_ACTIONS: ReadonlySet<Action> = new Set<Action>(['pin', 'reassign', 'release', 'drain']);

function detailsKey(ui: UiState, overlay: Extract<Overlay, { kind: 'details' }>, name: string, ctx: KeyContext): Reduced {
  const binding = bindingFor(name, ui.focus, ui.readOnly);
  if (binding === undefined || !SUBJECT_ACTIONS.has(binding.action)) return scrollOverlayKey(ui, overlay, name, ctx);
  // The pane's selection when it is still the subject (its pinned or drained state is fresh), else the subject itself
  // (the row may have left the list meanwhile).
  const sel = ctx.selection;
  const subject = overlay.subject;
  const same =
    sel !== null &&
    ((sel.kind === 'shard' && subject.kind === 'shard' && sel.id === subject.id) ||
      (sel.kind === 'node' && subject.kind === 'node' && sel.address === subject.address));
  return normalKey(withOverlay(ui, { kind: 'none' }), name, { ...ctx, selection: same ? sel : subject });
}

function scrollOverlayKey(ui: UiState, overlay: Extract<Overlay, { kind: 'help' | 'details' }>, name: string, ctx: KeyContext): Reduced {
  // Scrolling stops at the last page, so the way back up is never longer than the way down.
  const max = ctx.overlayScrollMax ?? Number.POSITIVE_INFINITY;
  switch (name) {
    case 'up':
    case 'k':
      return { ui: withOverlay(ui, { ...overlay, offset: Math.max(0, Math.min(overlay.offset, max) - 1) }) };
    case 'down':
    case 'j':
      return { ui: withOverlay(ui, { ...overlay, offset: Math.min(max, overlay.offset + 1) }) };
    case 'escape':
    case 'q':
    case 'return':
    case '?':
      return { ui: withOverlay(ui, { kind: 'none' }) };
    default:
      return { ui };
  }
}
