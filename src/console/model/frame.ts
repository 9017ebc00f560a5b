/**
 * One frame of the console, pure: the data model, the connection state and the UI state in, every line of the
 * screen out (as styled strings) plus what the key reducer needs to know about them. The Ink components only lay
 * these lines out; everything that decides what is shown is here and unit-tested.
 */
import { printable } from '../../core/text/printable.js';
import { type ClusterView, SHARD_FLAG } from '../../core/view/index.js';
import { bindingsFor, PANE_TITLES, PANES, type PaneId } from '../keys.js';
import { clip, fit, truncateStyled } from '../text.js';
import type { Theme } from '../theme.js';
import { type Connection, headerLines, type MetricsSource } from './header.js';
import { computeLayout, type Layout, type PaneSlot } from './layout.js';
import { HOT_SHARDS_TABLE, nodeLockLines } from './locksPane.js';
import { NODES_TABLE, nodesTitle } from './nodesPane.js';
import { confirmContent, detailsContent, helpContent, type OverlayContent, pickContent } from './overlays.js';
import { balancerLines, emptyTimeline, type HistoryView, movesLine, TIMELINE_TABLE, timelineRows } from './rebalancePane.js';
import { shardsPane } from './shardsPane.js';
import { STUCK_TABLE, stuckTitle } from './stuckPane.js';
import { renderTable, type RenderedTable, type TableSpec } from './table.js';
import type { KeyContext, ListContext, ListPane, MapContext, Subject, UiState } from './ui.js';

export interface FrameInput {
  readonly view: ClusterView;
  readonly connection: Connection;
  readonly ui: UiState;
  readonly cols: number;
  readonly rows: number;
  readonly theme: Theme;
  /** The cluster history as of the last rebuild. */
  readonly history: HistoryView;
  /** Why writes are off, shown in the header; null when they are on. */
  readonly readOnlyReason: string | null;
  /** False when stdin is not a terminal: no key is read, so the hint line says how to quit instead. */
  readonly readsKeys?: boolean;
  /** Where node metrics come from (default: the console's scrapes). */
  readonly metricsSource?: MetricsSource;
}

export interface PaneFrame {
  readonly pane: PaneId;
  readonly focused: boolean;
  /** Lines in all, title included. */
  readonly height: number;
  readonly title: string;
  readonly lines: readonly string[];
}

export interface Frame {
  readonly layout: Layout;
  readonly header: readonly string[];
  readonly tabs: string;
  readonly panes: readonly PaneFrame[];
  /** A dialog in place of the panes, with as many lines as they had. */
  readonly overlay: (OverlayContent & { readonly height: number }) | null;
  readonly status: string;
  /** The prompt of the palette or the filter, else the key hints. */
  readonly prompt: string;
  readonly context: KeyContext;
}

interface PaneBuild {
  readonly frame: PaneFrame;
  readonly list?: ListContext;
  readonly selection: Subject | null;
  readonly map?: MapContext;
}

const EMPTY_LIST: ListContext = { keys: [], pageSize: 1, columns: 1 };

export function buildFrame(input: FrameInput): Frame {
  const { view, ui, theme, cols, rows } = input;
  const layout = computeLayout(cols, rows, ui.focus);
  const lists: Record<ListPane, ListContext> = { nodes: EMPTY_LIST, stuck: EMPTY_LIST, locks: EMPTY_LIST, rebalance: EMPTY_LIST };
  let map: MapContext | null = null;
  let selection: Subject | null = null;
  const panes: PaneFrame[] = [];
  if (layout.kind === 'normal') {
    for (const slot of layout.slots) {
      const built = buildPane(input, slot);
      panes.push(built.frame);
      if (built.list !== undefined) lists[slot.pane as ListPane] = built.list;
      if (built.map !== undefined) map = built.map;
      if (slot.focused) selection = built.selection;
    }
  }
  const paused = view.balancer.pause !== null;
  const body = layout.kind === 'normal' ? layout.body : 0;
  const { overlay, scrollMax } = overlayContent(input, body);
  const context: KeyContext = {
    numShards: view.snapshot.numShards,
    lists,
    map,
    selection,
    rebalancePaused: paused,
    targets: reassignTargets(view),
    overlayScrollMax: scrollMax,
  };
  // Every line is cut to the width here, cheaply: Ink would otherwise measure and cut long styled lines itself.
  const cut = (line: string): string => truncateStyled(line, cols);
  return {
    layout,
    header: headerLines(
      view,
      input.connection,
      { frozen: ui.frozen, readOnly: input.readOnlyReason, ...(input.metricsSource ? { metricsSource: input.metricsSource } : {}) },
      theme,
      cols,
    ).map(cut),
    tabs: cut(tabBar(view, ui.focus, theme)),
    panes: panes.map((p) => {
      const title = fit(` ${p.title}`, cols);
      return { ...p, title: p.focused ? theme.inverse(theme.bold(title)) : theme.bold(title), lines: p.lines.map(cut) };
    }),
    overlay:
      overlay === null
        ? null
        : {
            ...overlay,
            // Inside the dialog's border and padding.
            title: theme.bold(clip(overlay.title, cols - 4)),
            footer: theme.tone(clip(overlay.footer, cols - 4), 'muted'),
            lines: overlay.lines.map((l) => truncateStyled(l, cols - 4)),
          },
    status: cut(statusText(ui, theme)),
    prompt: cut(promptText(ui, theme, input.readsKeys ?? true, cols, view.upstream.leader !== null)),
    context,
  };
}

function buildPane(input: FrameInput, slot: PaneSlot): PaneBuild {
  const { view, ui, theme, cols: width } = input;
  const inner = { width, height: slot.height - 1 };
  const frame = (title: string, lines: readonly string[]): PaneFrame => ({
    pane: slot.pane,
    focused: slot.focused,
    height: slot.height,
    title: `${PANE_TITLES[slot.pane]}: ${title}`,
    lines: lines.slice(0, inner.height),
  });
  switch (slot.pane) {
    case 'shards': {
      const p = shardsPane(view, ui.map, inner, theme, slot.focused);
      const id = Math.min(ui.map.cursor, view.snapshot.numShards - 1);
      return {
        frame: frame(p.title, p.lines),
        map: p.map,
        selection: { kind: 'shard', id, pinned: shardRowPinned(view, id) },
      };
    }
    case 'nodes': {
      const t = table(NODES_TABLE, view.nodes, ui, 'nodes', inner, theme, slot.focused);
      const n = t.selected;
      return {
        frame: frame(nodesTitle(view) + filterNote(ui, 'nodes', t) + rangeNote(t), [t.header, ...t.lines]),
        list: listContext(t, NODES_TABLE),
        selection: n === null ? null : { kind: 'node', address: n.address, drained: n.draining },
      };
    }
    case 'stuck': {
      const t = table(STUCK_TABLE, view.stuck, ui, 'stuck', inner, theme, slot.focused);
      const s = t.selected;
      const lines = view.stuck.length === 0 ? [t.header, theme.tone('no migration is past the stuck timeout', 'good')] : [t.header, ...t.lines];
      return {
        frame: frame(stuckTitle(view) + filterNote(ui, 'stuck', t) + rangeNote(t), lines),
        list: listContext(t, STUCK_TABLE),
        selection: s === null ? null : { kind: 'shard', id: s.shardId, pinned: s.pinned },
      };
    }
    case 'locks': {
      const alive = view.nodeCounts.alive;
      const summaryRows = Math.min(alive + 1, Math.max(2, Math.floor(inner.height * 0.4)));
      const summary = nodeLockLines(view, summaryRows, width, theme);
      const t = table(HOT_SHARDS_TABLE, view.hotShards, ui, 'locks', { width, height: inner.height - summary.length - 1 }, theme, slot.focused);
      const h = t.selected;
      const hot = view.hotShards.length === 0 ? [theme.tone('no contended shard reported', 'good')] : t.lines;
      return {
        frame: frame(`${view.hotShards.length} hot shards${filterNote(ui, 'locks', t)}`, [...summary, t.header, ...hot]),
        list: listContext(t, HOT_SHARDS_TABLE),
        selection: h === null ? null : { kind: 'shard', id: h.shardId, pinned: shardRowPinned(view, h.shardId) },
      };
    }
    case 'rebalance': {
      // On a short pane the balancer's state keeps its first lines and the timeline keeps a few rows.
      const top = balancerLines(view, theme, ui.readOnly).slice(0, Math.max(1, inner.height - 5));
      const rows = timelineRows(input.history, view.now);
      const t = table(TIMELINE_TABLE, rows, ui, 'rebalance', { width, height: inner.height - top.length - 1 }, theme, slot.focused);
      const e = t.selected;
      const entries = rows.length === 0 ? [theme.tone(emptyTimeline(view), 'muted')] : t.lines;
      const malformed = input.history.malformed === 0 ? '' : `, ${input.history.malformed} malformed`;
      return {
        frame: frame(`${view.balancer.state} │ history ${rows.length}${malformed}${filterNote(ui, 'rebalance', t)}`, [
          ...top,
          movesLine(input.history, view.now, width),
          t.header,
          ...entries,
        ]),
        list: listContext(t, TIMELINE_TABLE),
        selection: e === null ? null : { kind: 'entry', key: e.key },
      };
    }
  }
}

/** Nodes a reassign may pick, per node list (the list is the same object while no row changed). */
const targetLists = new WeakMap<readonly unknown[], readonly string[]>();

function reassignTargets(view: ClusterView): readonly string[] {
  let targets = targetLists.get(view.nodes);
  if (targets === undefined) targetLists.set(view.nodes, (targets = view.nodes.filter((n) => n.alive && n.status === 'eligible').map((n) => n.address)));
  return targets;
}

function shardRowPinned(view: ClusterView, id: number): boolean {
  return ((view.shards.flags[id] ?? 0) & SHARD_FLAG.pinned) !== 0;
}

function table<Row>(
  spec: TableSpec<Row>,
  rows: readonly Row[],
  ui: UiState,
  pane: ListPane,
  size: { width: number; height: number },
  theme: Theme,
  focused: boolean,
): RenderedTable<Row> {
  return renderTable(spec, rows, ui.lists[pane], { width: size.width, height: Math.max(2, size.height) }, theme, focused);
}

function listContext<Row>(t: RenderedTable<Row>, spec: TableSpec<Row>): ListContext {
  return { keys: t.keys, pageSize: t.pageSize, columns: spec.columns.length };
}

function filterNote<Row>(ui: UiState, pane: ListPane, t: RenderedTable<Row>): string {
  const f = ui.lists[pane].filter;
  return f === null ? '' : ` │ filter ${f.inverse ? '!' : ''}${printable(f.text)}: ${t.keys.length} of ${t.total}`;
}

/** Which rows the page shows, when they do not all fit: `rows 41-58 of 1000`. */
function rangeNote<Row>(t: RenderedTable<Row>): string {
  if (t.keys.length <= t.pageSize) return '';
  return ` │ rows ${t.first + 1}-${Math.min(t.keys.length, t.first + t.pageSize)} of ${t.keys.length}`;
}

function tabBar(view: ClusterView, focus: PaneId, theme: Theme): string {
  return PANES.map((p) => {
    const count = p === 'stuck' && view.counts.stuck > 0 ? ` ${view.counts.stuck}` : '';
    const label = ` ${PANE_TITLES[p]}${count} `;
    if (p === focus) return theme.inverse(label);
    return count === '' ? label : theme.tone(label, 'bad');
  }).join(' ');
}

/** Dialog chrome: border (2 lines), title, footer. */
const DIALOG_CHROME = 4;

function overlayContent(input: FrameInput, height: number): { overlay: Frame['overlay']; scrollMax: number | null } {
  const { ui, view, theme } = input;
  const o = ui.overlay;
  const room = Math.max(1, height - DIALOG_CHROME);
  let content: OverlayContent;
  let scrollMax: number | null = null;
  switch (o.kind) {
    case 'none':
    case 'palette':
    case 'filter':
      return { overlay: null, scrollMax };
    case 'help':
    case 'details': {
      const full = o.kind === 'help' ? helpContent(ui.focus, ui.readOnly) : detailsContent(o.subject, view, input.history, ui.readOnly);
      scrollMax = Math.max(0, full.lines.length - room);
      content = { ...full, lines: full.lines.slice(Math.min(o.offset, scrollMax)) };
      break;
    }
    case 'pick':
      content = pickContent(o, view, theme);
      break;
    case 'confirm':
      content = confirmContent(o.pending, o.choice, theme, height - DIALOG_CHROME);
      break;
    case 'busy':
      content = { title: 'Working', lines: [`${printable(o.what)}…`], footer: 'waiting for etcd' };
      break;
  }
  return { overlay: { ...content, height }, scrollMax };
}

function statusText(ui: UiState, theme: Theme): string {
  if (ui.status === null) return '';
  const tone = ui.status.tone === 'info' ? 'accent' : ui.status.tone;
  // Results and errors quote keys, values and etcd's messages.
  return theme.tone(printable(ui.status.text), tone);
}

/** Under an upstream leader, drain and pause are refused (it ignores both): their hints go. */
const IGNORED_BY_UPSTREAM: ReadonlySet<string> = new Set(['drain', 'pauseRebalance']);

function promptText(ui: UiState, theme: Theme, readsKeys: boolean, width: number, upstreamLeader: boolean): string {
  if (!readsKeys) return theme.tone('no keys: stdin is not a terminal · Ctrl-C quits', 'muted');
  const o = ui.overlay;
  if (o.kind === 'palette') return `${theme.bold(':')}${printable(o.text)}█  ${theme.tone('tab completes · enter runs · esc cancels', 'muted')}`;
  if (o.kind === 'filter') return `${theme.bold('/')}${printable(o.text)}█  ${theme.tone('!text = not matching · enter keeps · esc cancels', 'muted')}`;
  // Plain text in one tone: every escape code costs Ink time on every frame.
  const hints = bindingsFor(ui.focus, ui.readOnly).flatMap((b) =>
    b.hint === undefined || (upstreamLeader && IGNORED_BY_UPSTREAM.has(b.action)) ? [] : [{ text: `${b.label.split(' ')[0]!} ${b.hint.word}`, rank: b.hint.rank }],
  );
  return theme.tone(fitHints(hints, width), 'muted');
}

const HINT_GAP = '  ';

/**
 * The hints that fit `width`, in key map order: when the line is too narrow the least important (highest rank) are
 * dropped whole, so what remains is never cut mid-word and `? help` and `q quit` stay.
 */
function fitHints(hints: readonly { readonly text: string; readonly rank: number }[], width: number): string {
  const kept = new Set<(typeof hints)[number]>();
  let used = -HINT_GAP.length;
  for (const h of [...hints].sort((a, b) => a.rank - b.rank)) {
    used += HINT_GAP.length + h.text.length;
    if (used > width) break;
    kept.add(h);
  }
  return hints
    .filter((h) => kept.has(h))
    .map((h) => h.text)
    .join(HINT_GAP);
}
