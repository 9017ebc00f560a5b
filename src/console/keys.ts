/**
 * The console's key map: one table that the key handler, the `?` help overlay, the hint line and docs/CONSOLE.md
 * are all derived from, so what a key does and what the help says cannot drift apart.
 */
import type { Key } from 'ink';

export const PANES = ['nodes', 'shards', 'stuck', 'locks', 'rebalance'] as const;
export type PaneId = (typeof PANES)[number];

export const PANE_TITLES: Readonly<Record<PaneId, string>> = {
  nodes: 'Nodes',
  shards: 'Shard map',
  stuck: 'Stuck',
  locks: 'Locks',
  rebalance: 'Rebalance',
};

export type Action =
  | 'help'
  | 'palette'
  | 'filter'
  | 'up'
  | 'down'
  | 'left'
  | 'right'
  | 'pageUp'
  | 'pageDown'
  | 'top'
  | 'bottom'
  | 'nextPane'
  | 'prevPane'
  | 'details'
  | 'sortPrev'
  | 'sortNext'
  | 'sortInvert'
  | 'freeze'
  | 'heatmap'
  | 'copy'
  | 'back'
  | 'quit'
  | 'pin'
  | 'reassign'
  | 'release'
  | 'drain'
  | 'pauseRebalance';

export interface Binding {
  /** Key names as `keyName` returns them. */
  readonly keys: readonly string[];
  /** How help shows the keys. */
  readonly label: string;
  readonly action: Action;
  readonly description: string;
  /** Panes where the key does something; undefined: everywhere. */
  readonly panes?: readonly PaneId[];
  /** A write to etcd: hidden and refused in read-only mode. */
  readonly write?: true;
  /**
   * Shown in the hint line at the bottom as `<key> <word>`. A line too narrow for every hint drops them whole, highest
   * `rank` first: 0 (`?` help, `q` quit) always shows.
   */
  readonly hint?: { readonly word: string; readonly rank: number };
}

const LISTS: readonly PaneId[] = ['nodes', 'stuck', 'locks', 'rebalance'];
const SHARD_PANES: readonly PaneId[] = ['shards', 'stuck', 'locks'];

export const BINDINGS: readonly Binding[] = [
  { keys: ['?'], label: '?', action: 'help', hint: { word: 'help', rank: 0 }, description: 'help for the focused pane' },
  { keys: [':'], label: ':', action: 'palette', hint: { word: 'cmd', rank: 1 }, description: 'command palette (:nodes :shards :stuck :locks :rebalance :q, actions)' },
  { keys: ['/'], label: '/', action: 'filter', hint: { word: 'filter', rank: 7 }, description: 'filter rows (/!text: rows NOT matching); shard map: dims the rest' },
  { keys: ['up', 'k'], label: '↑ k', action: 'up', description: 'move up' },
  { keys: ['down', 'j'], label: '↓ j', action: 'down', description: 'move down' },
  { keys: ['left', 'h'], label: '← h', action: 'left', description: 'move left', panes: ['shards'] },
  { keys: ['right', 'l'], label: '→ l', action: 'right', description: 'move right', panes: ['shards'] },
  { keys: ['pageup', 'ctrl-b'], label: 'PgUp ^b', action: 'pageUp', description: 'page up' },
  { keys: ['pagedown', 'ctrl-f'], label: 'PgDn ^f', action: 'pageDown', description: 'page down' },
  { keys: ['home', 'g'], label: 'Home g', action: 'top', description: 'first row' },
  { keys: ['end', 'G'], label: 'End G', action: 'bottom', description: 'last row' },
  { keys: ['tab'], label: 'tab', action: 'nextPane', hint: { word: 'pane', rank: 2 }, description: 'next pane' },
  { keys: ['shift-tab'], label: 'S-tab', action: 'prevPane', description: 'previous pane' },
  { keys: ['return'], label: 'enter', action: 'details', hint: { word: 'details', rank: 8 }, description: 'details of the selection; shard map: zoom into a cell' },
  { keys: ['<'], label: '<', action: 'sortPrev', description: 'sort by the previous column', panes: LISTS },
  { keys: ['>'], label: '>', action: 'sortNext', description: 'sort by the next column', panes: LISTS },
  { keys: ['I'], label: 'I', action: 'sortInvert', description: 'invert the sort order', panes: LISTS },
  { keys: ['m'], label: 'm', action: 'heatmap', description: 'shard map colouring: owner, objects, calls', panes: ['shards'] },
  { keys: ['Z'], label: 'Z', action: 'freeze', description: 'pause / resume refreshing the screen' },
  { keys: ['c'], label: 'c', action: 'copy', description: 'copy the selected ID to the clipboard (OSC 52)' },
  { keys: ['escape'], label: 'esc', action: 'back', description: 'back: close, unzoom, clear the filter' },
  { keys: ['p'], label: 'p', action: 'pin', hint: { word: 'pin', rank: 5 }, description: 'pin / unpin the selected shard', panes: SHARD_PANES, write: true },
  {
    keys: ['r'],
    label: 'r',
    action: 'reassign',
    hint: { word: 'reassign', rank: 3 },
    description: 'reassign the selected shard: pick an alive node or the best one',
    panes: SHARD_PANES,
    write: true,
  },
  { keys: ['x'], label: 'x', action: 'release', hint: { word: 'release', rank: 4 }, description: 'release the selected shard', panes: SHARD_PANES, write: true },
  { keys: ['d'], label: 'd', action: 'drain', hint: { word: 'drain', rank: 3 }, description: 'drain / undrain the selected node', panes: ['nodes'], write: true },
  { keys: ['P'], label: 'P', action: 'pauseRebalance', hint: { word: 'pause', rank: 6 }, description: 'pause / resume rebalancing', write: true },
  { keys: ['q', 'ctrl-c'], label: 'q ^c', action: 'quit', hint: { word: 'quit', rank: 0 }, description: 'quit' },
];

const NAMED_KEYS: ReadonlySet<string> = new Set([
  'up',
  'down',
  'left',
  'right',
  'pageup',
  'pagedown',
  'home',
  'end',
  'return',
  'escape',
  'tab',
  'shift-tab',
  'backspace',
]);

/** Whether a key name is a named key (or a ctrl chord) rather than typed text. */
export function isNamedKey(name: string): boolean {
  return NAMED_KEYS.has(name) || name.startsWith('ctrl-');
}

/** The name of a key press: printable input as itself, others as `up`, `return`, `ctrl-c`, `shift-tab`... */
export function keyName(input: string, key: Key): string {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.return) return 'return';
  if (key.escape) return 'escape';
  if (key.tab) return key.shift ? 'shift-tab' : 'tab';
  if (key.backspace || key.delete) return 'backspace';
  if (key.ctrl && input.length === 1) return `ctrl-${input.toLowerCase()}`;
  return input;
}

/**
 * Key names of text that arrived as one piece (typed fast, or pasted): Ink splits escape sequences out but hands over
 * a run such as `k\r` whole, so control characters are named here as they would be alone.
 */
export function typedKeys(text: string): string[] {
  return [...text].map((ch) => {
    const code = ch.charCodeAt(0);
    if (ch === '\r' || ch === '\n') return 'return';
    if (ch === '\t') return 'tab';
    if (ch === '\u007f' || ch === '\b') return 'backspace';
    if (code < 0x20) return `ctrl-${String.fromCharCode(code + 0x60)}`;
    return ch;
  });
}

/** The binding of a key in a pane, or undefined. Write keys do nothing in read-only mode. */
export function bindingFor(name: string, pane: PaneId, readOnly: boolean): Binding | undefined {
  return BINDINGS.find((b) => b.keys.includes(name) && (b.panes === undefined || b.panes.includes(pane)) && !(readOnly && b.write));
}

/** The bindings shown by help for a pane: global ones and the pane's own, without writes in read-only mode. */
export function bindingsFor(pane: PaneId, readOnly: boolean): Binding[] {
  return BINDINGS.filter((b) => (b.panes === undefined || b.panes.includes(pane)) && !(readOnly && b.write));
}
