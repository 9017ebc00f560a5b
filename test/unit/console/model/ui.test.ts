import { describe, expect, it } from 'vitest';
import type { OperationPlan } from '../../../../src/core/operations/operations.js';
import { gridGeometry } from '../../../../src/console/model/shardGrid.js';
import { ShardIndex } from '../../../../src/core/view/shardIndex.js';
import { initialUi, type KeyContext, type ListContext, reduceKey, type Subject, type UiState } from '../../../../src/console/model/ui.js';

const list = (keys: string[], pageSize = 3, columns = 4): ListContext => ({ keys, pageSize, columns });

/** The map order of `n` shards all owned by one node: position = shard ID. */
function identityOrder(n: number) {
  return new ShardIndex(1, new Int32Array(n), new Int32Array(n), () => false, () => false);
}

function ctx(over: Partial<KeyContext> = {}): KeyContext {
  return {
    numShards: 100,
    lists: { nodes: list(['a', 'b', 'c', 'd', 'e']), stuck: list(['7', '9']), locks: list([]), rebalance: list([]) },
    map: { geo: gridGeometry(100, 10, 5, null), order: identityOrder(100), pageRows: 5 },
    selection: null,
    rebalancePaused: false,
    targets: ['n1:1', 'n2:1'],
    overlayScrollMax: null,
    ...over,
  };
}

const press = (ui: UiState, keys: string[], c: KeyContext = ctx()) => {
  let state = ui;
  let effect;
  for (const k of keys) ({ ui: state, effect } = reduceKey(state, k, c));
  return { ui: state, effect };
};

const shard = (id: number, pinned = false): Subject => ({ kind: 'shard', id, pinned });
const plan: OperationPlan = { operation: 'pin', shardChanges: [], recordChanges: [], skipped: [], summary: 'pin 1 shard' };

describe('console key reducer', () => {
  it('tab cycles the panes, the palette switches to one by name', () => {
    const ui = initialUi({ readOnly: false });
    expect(ui.focus).toBe('shards');
    expect(press(ui, ['tab']).ui.focus).toBe('stuck');
    expect(press(ui, ['shift-tab']).ui.focus).toBe('nodes');
    const r = press(ui, [':', 'l', 'o', 'c', 'k', 's', 'return']);
    expect(r.ui.focus).toBe('locks');
    expect(r.ui.overlay.kind).toBe('none');
  });

  it('j/k and arrows move the row cursor, scrolling the window; g/G jump', () => {
    const ui = { ...initialUi({ readOnly: false }), focus: 'nodes' as const };
    let r = press(ui, ['j', 'down', 'j']);
    expect(r.ui.lists.nodes.cursor).toBe('d');
    expect(r.ui.lists.nodes.offset).toBe(1);
    r = press(r.ui, ['k', 'up', 'k', 'k', 'k']);
    expect(r.ui.lists.nodes.cursor).toBe('a');
    expect(r.ui.lists.nodes.offset).toBe(0);
    expect(press(ui, ['G']).ui.lists.nodes.cursor).toBe('e');
    expect(press(ui, ['G', 'g']).ui.lists.nodes.cursor).toBe('a');
  });

  it('the map cursor moves by cells and rows; enter zooms in a level centred on the cursor, esc zooms out', () => {
    const geo = gridGeometry(8192, 78, 12, null);
    const c = ctx({ numShards: 8192, map: { geo, order: identityOrder(8192), pageRows: 12 } });
    const ui = initialUi({ readOnly: false });
    let r = press(ui, ['l', 'l', 'j'], c);
    expect(r.ui.map.cursor).toBe(2 * geo.perCell + 78 * geo.perCell);
    r = press(r.ui, ['return'], c);
    // 9 per cell: one level down is one shard per cell, the window starting 6 rows of 78 before the cursor.
    expect(r.ui.map.zoom).toEqual({ level: 1, start: r.ui.map.cursor - 6 * 78 });
    r = press(r.ui, ['escape'], c);
    expect(r.ui.map.zoom).toBeNull();
  });

  it('at 65,536 shards enter zooms level by level down to single shards, esc climbs back one level at a time', () => {
    const order = identityOrder(65_536);
    let ui = initialUi({ readOnly: false });
    const levels: number[] = [];
    for (let i = 0; i < 3; i++) {
      const geo = gridGeometry(65_536, 78, 12, ui.map.zoom);
      levels.push(geo.perCell);
      ui = press(ui, ['return'], ctx({ numShards: 65_536, map: { geo, order, pageRows: 12 } })).ui;
    }
    expect(levels).toEqual([71, 9, 1]);
    // At one shard per cell enter opens the shard's details instead.
    expect(ui.overlay.kind).toBe('none');
    expect(ui.map.zoom?.level).toBe(2);
    ui = press(ui, ['escape']).ui;
    expect(ui.map.zoom?.level).toBe(1);
    ui = press(ui, ['escape']).ui;
    expect(ui.map.zoom).toBeNull();
  });

  it('zoomed in, moving past the window scrolls it by rows', () => {
    // 205 shards per cell on the whole map: level 3 shows one per cell.
    const zoomedGeo = gridGeometry(8192, 10, 4, { level: 3, start: 0 });
    expect(zoomedGeo.perCell).toBe(1);
    const c = ctx({ numShards: 8192, map: { geo: zoomedGeo, order: identityOrder(8192), pageRows: 4 } });
    const ui = { ...initialUi({ readOnly: false }), map: { cursor: 35, zoom: { level: 3, start: 0 }, mode: 'owner' as const, filter: null } };
    const r = press(ui, ['j'], c);
    expect(r.ui.map.cursor).toBe(45);
    expect(r.ui.map.zoom).toEqual({ level: 3, start: 10 });
  });

  it('< > change the sort column with wrap-around, I inverts it', () => {
    const ui = { ...initialUi({ readOnly: false }), focus: 'nodes' as const };
    expect(press(ui, ['>']).ui.lists.nodes.sortColumn).toBe(1);
    expect(press(ui, ['<']).ui.lists.nodes.sortColumn).toBe(3);
    expect(press(ui, ['I']).ui.lists.nodes.descending).toBe(true);
    expect(press(ui, ['I', 'I']).ui.lists.nodes.descending).toBe(false);
  });

  it('/ filters as typed, ! inverts, enter keeps, esc restores, esc again clears', () => {
    const ui = { ...initialUi({ readOnly: false }), focus: 'nodes' as const };
    let r = press(ui, ['/', 'n', '2']);
    expect(r.ui.overlay.kind).toBe('filter');
    expect(r.ui.lists.nodes.filter).toEqual({ text: 'n2', inverse: false });
    r = press(r.ui, ['return']);
    expect(r.ui.overlay.kind).toBe('none');
    expect(r.ui.lists.nodes.filter).toEqual({ text: 'n2', inverse: false });
    const inv = press(r.ui, ['/', 'backspace', 'backspace', '!', 'x', 'escape']);
    expect(inv.ui.lists.nodes.filter).toEqual({ text: 'n2', inverse: false });
    expect(press(r.ui, ['/', 'backspace', 'backspace', '!', 'x', 'return']).ui.lists.nodes.filter).toEqual({ text: 'x', inverse: true });
    expect(press(r.ui, ['escape']).ui.lists.nodes.filter).toBeNull();
  });

  it('p asks to pin an unpinned shard and to unpin a pinned one', () => {
    const ui = initialUi({ readOnly: false });
    expect(press(ui, ['p'], ctx({ selection: shard(5) })).effect).toEqual({ kind: 'plan', request: { kind: 'pin', shards: [5] } });
    expect(press(ui, ['p'], ctx({ selection: shard(5, true) })).effect).toEqual({ kind: 'plan', request: { kind: 'unpin', shards: [5] } });
  });

  it('r opens the node picker with "best" first; enter plans the retarget', () => {
    const ui = initialUi({ readOnly: false });
    const c = ctx({ selection: shard(9) });
    let r = press(ui, ['r'], c);
    expect(r.ui.overlay).toEqual({ kind: 'pick', shards: [9], options: [null, 'n1:1', 'n2:1'], index: 0 });
    expect(press(r.ui, ['return'], c).effect).toEqual({ kind: 'plan', request: { kind: 'retarget', shards: [9], to: null, refusals: 'refuse' } });
    r = press(r.ui, ['j', 'j', 'return'], c);
    expect(r.effect).toEqual({ kind: 'plan', request: { kind: 'retarget', shards: [9], to: 'n2:1', refusals: 'refuse' } });
    expect(r.ui.overlay.kind).toBe('none');
  });

  it('x releases, d drains or undrains, P pauses or resumes', () => {
    const ui = initialUi({ readOnly: false });
    expect(press(ui, ['x'], ctx({ selection: shard(3) })).effect).toEqual({ kind: 'plan', request: { kind: 'release', shards: [3], refusals: 'refuse' } });
    const nodes = { ...ui, focus: 'nodes' as const };
    expect(press(nodes, ['d'], ctx({ selection: { kind: 'node', address: 'n1:1', drained: false } })).effect).toEqual({
      kind: 'plan',
      request: { kind: 'drain', node: 'n1:1' },
    });
    expect(press(nodes, ['d'], ctx({ selection: { kind: 'node', address: 'n1:1', drained: true } })).effect).toEqual({
      kind: 'plan',
      request: { kind: 'undrain', node: 'n1:1' },
    });
    expect(press(ui, ['P']).effect).toMatchObject({ kind: 'plan', request: { kind: 'pause', reason: 'paused from goverse-top' } });
    expect(press(ui, ['P'], ctx({ rebalancePaused: true })).effect).toEqual({ kind: 'plan', request: { kind: 'resume' } });
  });

  it('the confirm dialog defaults to Cancel: enter cancels, y or moving to Confirm then enter executes', () => {
    const pending = { request: { kind: 'pin' as const, shards: [1] }, plan };
    const ui = { ...initialUi({ readOnly: false }), overlay: { kind: 'confirm' as const, pending, choice: 'cancel' as const } };
    const cancelled = press(ui, ['return']);
    expect(cancelled.effect).toBeUndefined();
    expect(cancelled.ui.overlay.kind).toBe('none');
    expect(cancelled.ui.status?.text).toBe('pin cancelled');
    expect(press(ui, ['escape']).effect).toBeUndefined();
    expect(press(ui, ['y']).effect).toEqual({ kind: 'execute', pending });
    expect(press(ui, ['right', 'return']).effect).toEqual({ kind: 'execute', pending });
    expect(press(ui, ['tab', 'tab', 'return']).effect).toBeUndefined();
  });

  it('read-only mode ignores every write key and refuses write commands', () => {
    const ui = initialUi({ readOnly: true });
    const c = ctx({ selection: shard(5) });
    for (const k of ['p', 'r', 'x', 'P']) expect(press(ui, [k], c)).toEqual({ ui, effect: undefined });
    expect(press({ ...ui, focus: 'nodes' }, ['d'], ctx({ selection: { kind: 'node', address: 'a', drained: false } })).effect).toBeUndefined();
    const r = press(ui, [':', 'p', 'i', 'n', ' ', '1', 'return'], c);
    expect(r.effect).toBeUndefined();
    expect(r.ui.status).toEqual({ text: ':pin refused: read-only mode', tone: 'bad' });
  });

  it('write keys without a selection say what to select', () => {
    const ui = initialUi({ readOnly: false });
    expect(press(ui, ['p']).ui.status?.text).toBe('select a shard to pin');
  });

  it('? opens help, q closes it; q quits from the main view; ctrl-c quits from anywhere', () => {
    const ui = initialUi({ readOnly: false });
    const help = press(ui, ['?']);
    expect(help.ui.overlay.kind).toBe('help');
    expect(press(help.ui, ['q'])).toMatchObject({ ui: { overlay: { kind: 'none' } }, effect: undefined });
    expect(press(ui, ['q']).effect).toEqual({ kind: 'quit' });
    expect(press(help.ui, ['ctrl-c']).effect).toEqual({ kind: 'quit' });
    expect(press(ui, [':', 'q', 'return']).effect).toEqual({ kind: 'quit' });
  });

  it('enter opens details of the selection; Z freezes and resumes the screen', () => {
    const ui = { ...initialUi({ readOnly: false }), focus: 'stuck' as const };
    expect(press(ui, ['return'], ctx({ selection: shard(7) })).ui.overlay).toEqual({ kind: 'details', subject: shard(7), offset: 0 });
    expect(press(ui, ['Z']).ui.frozen).toBe(true);
    expect(press(ui, ['Z', 'Z']).ui.frozen).toBe(false);
  });

  it('help and details scroll no further than their last page, so k goes back up at once', () => {
    const ui = initialUi({ readOnly: false });
    const c = ctx({ overlayScrollMax: 2 });
    let r = press(ui, ['?', 'j', 'j', 'j', 'j', 'j'], c);
    expect(r.ui.overlay).toEqual({ kind: 'help', offset: 2 });
    r = press(r.ui, ['k'], c);
    expect(r.ui.overlay).toEqual({ kind: 'help', offset: 1 });
    // Before the first frame with the dialog the limit is unknown; the next k still steps back from the limit.
    r = press(ui, ['?', 'j', 'j', 'j', 'j'], ctx());
    expect(press(r.ui, ['k'], c).ui.overlay).toEqual({ kind: 'help', offset: 1 });
  });

  it('the write keys a details dialog lists act on the shard or node it shows', () => {
    const stuck = { ...initialUi({ readOnly: false }), focus: 'stuck' as const };
    const details = press(stuck, ['return'], ctx({ selection: shard(7) })).ui;
    // The selection is still shard 7 (now pinned): its fresh state decides pin or unpin.
    expect(press(details, ['p'], ctx({ selection: shard(7, true) }))).toMatchObject({
      ui: { overlay: { kind: 'none' } },
      effect: { kind: 'plan', request: { kind: 'unpin', shards: [7] } },
    });
    // The row left the list: the dialog's subject is acted on, not whatever is selected now.
    expect(press(details, ['x'], ctx({ selection: shard(9) })).effect).toEqual({ kind: 'plan', request: { kind: 'release', shards: [7], refusals: 'refuse' } });
    expect(press(details, ['r'], ctx({ selection: null })).ui.overlay).toEqual({ kind: 'pick', shards: [7], options: [null, 'n1:1', 'n2:1'], index: 0 });
    expect(press(details, ['j']).ui.overlay).toEqual({ kind: 'details', subject: shard(7), offset: 1 });
    expect(press(details, ['P']).effect).toBeUndefined();
    const node = { kind: 'node' as const, address: 'a', drained: false };
    const nodes = press({ ...initialUi({ readOnly: false }), focus: 'nodes' }, ['return'], ctx({ selection: node })).ui;
    expect(press(nodes, ['d'], ctx({ selection: node })).effect).toEqual({ kind: 'plan', request: { kind: 'drain', node: 'a' } });
    const readOnly = press({ ...initialUi({ readOnly: true }), focus: 'stuck' }, ['return'], ctx({ selection: shard(7) })).ui;
    expect(press(readOnly, ['p'], ctx({ selection: shard(7) }))).toEqual({ ui: readOnly, effect: undefined });
  });

  it('m cycles the map between owners and the two heatmaps', () => {
    const ui = initialUi({ readOnly: false });
    expect(press(ui, ['m']).ui.map.mode).toBe('objects');
    expect(press(ui, ['m', 'm']).ui.map.mode).toBe('calls');
    expect(press(ui, ['m', 'm', 'm']).ui.map.mode).toBe('owner');
  });

  it(':map colours the shard map and focuses it, from any pane, so the change shows', () => {
    const nodes = { ...initialUi({ readOnly: false }), focus: 'nodes' as const };
    const r = press(nodes, [':', ...'map calls', 'return']);
    expect(r.ui.focus).toBe('shards');
    expect(r.ui.map.mode).toBe('calls');
    expect(r.ui.status).toEqual(press(initialUi({ readOnly: false }), ['m', 'm']).ui.status);
  });
});
