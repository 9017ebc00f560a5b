/**
 * What operators read during a shard-count transition: the console header (count in force, phase, pairs done), the
 * map (laid out over the larger count, absent high shards as the last band with a legend entry), the status rows and
 * document, and the members that cannot follow.
 */
import { describe, expect, it } from 'vitest';
import { shardCountLines, statusDocument } from '../../../../src/cli/commands/status.js';
import { headerLines, reshardTexts } from '../../../../src/console/model/header.js';
import { nodesTitle } from '../../../../src/console/model/nodesPane.js';
import { gridGeometry, renderGrid } from '../../../../src/console/model/shardGrid.js';
import { shardsPane } from '../../../../src/console/model/shardsPane.js';
import { createTheme } from '../../../../src/console/theme.js';
import type { ClusterView } from '../../../../src/core/view/index.js';
import { kv, N3, NOW, P, stripAnsi } from '../fixtures.js';
import { range, transitionView } from '../../core/view/reshardFixtures.js';

const theme = createTheme(false);
const connection = { endpoints: ['127.0.0.1:2379'], status: { kind: 'synced', revision: 1, since: NOW } as const, reconnects: 0 };
const header = (view: ClusterView): string[] => headerLines(view, connection, { frozen: false, readOnly: null }, theme);
const ui = { mode: 'owner', cursor: 0, zoom: null, filter: null } as const;

const splitting = transitionView({ count: 8, kind: 'split', shards: [...range(0, 8), 8, 9] });
const merging = transitionView({ count: 16, kind: 'merge', shards: range(0, 12) });
const aborting = transitionView({ count: 8, kind: 'split', state: 'aborting', shards: [...range(0, 8), 8] });
const stable = transitionView({ count: 16, kind: null, shards: range(0, 16), reshards: 1 });

describe('console header', () => {
  it('shows the count in force at a stable count, and no phase', () => {
    const [line1, line2, line3] = header(stable);
    expect(line1).toMatch(/│ 16 shards$/);
    expect(line2).toContain('shards 16/16 owned');
    expect(line3).toMatch(/^balancer /);
    expect(reshardTexts(stable)).toBeNull();
  });

  it('during a split: from -> to, the pairs done of all, the age and who started it, before the balancer', () => {
    const [line1, line2, line3] = header(splitting);
    expect(line1).toMatch(/│ 8 shards → 16$/);
    // The layout's shards, not the 16 IDs: the absent high shards are nobody's to own.
    expect(line2).toContain('shards 10/10 owned');
    expect(line3).toMatch(/^⇅ SPLIT 8→16: 2\/8 pairs \(25%\) 2m00s by alice@ops │ balancer /);
  });

  it('keeps the phase and its progress on a narrow terminal, where the balancer gives way', () => {
    const narrow = headerLines(splitting, connection, { frozen: false, readOnly: null }, theme, 40);
    expect(narrow[2]).toMatch(/^⇅ SPLIT 8→16/);
    expect(narrow[2]).toContain('25%');
    // At 80 columns the counts stay on the first line, ahead of the revision and the prefix.
    expect(headerLines(splitting, connection, { frozen: false, readOnly: null }, theme, 80)[0]).toContain('8 shards → 16');
  });

  it('during a merge and an abort', () => {
    expect(reshardTexts(merging)?.texts[0]).toBe('⇅ MERGE 16→8: 4/8 pairs (50%) 2m00s by alice@ops');
    // Aborting a split: the pairs merged back (7 of 8: only pair 0 is still split).
    expect(reshardTexts(aborting)?.texts[0]).toBe('⇅ ABORTING SPLIT 8→16, back to 8: 7/8 pairs back (87%) 2m00s by alice@ops');
  });

  it('names the members that cannot follow while the count changes, not before any reshard', () => {
    const upstream = [kv(`${P}/nodes/${N3}`, N3, '1')];
    const during = transitionView({ count: 8, kind: 'split', shards: range(0, 8), extra: upstream });
    expect(header(during)[1]).toContain('cannot follow count 1');
    expect(nodesTitle(during)).toBe('3/3 alive, 1 cannot follow the shard count (no shards)');
    const before = transitionView({ count: 8, kind: null, shards: range(0, 8), extra: upstream });
    expect(header(before)[1]).not.toContain('cannot follow');
    expect(nodesTitle(before)).toBe('3/3 alive');
  });
});

describe('shard map', () => {
  it('is laid out over the larger count, the absent high shards as the last band of _', () => {
    // The owner map's order: the view's layout.
    const order = splitting.layout;
    // N1's band (even IDs), N2's band (odd IDs), then 10..15 absent.
    expect(Array.from({ length: order.size }, (_, p) => order.idAt(p))).toEqual([0, 2, 4, 6, 8, 1, 3, 5, 7, 9, 10, 11, 12, 13, 14, 15]);
    const grid = renderGrid(splitting.shards, order, gridGeometry(16, 16, 1, null), theme, { mode: 'owner', cursor: null });
    expect(grid.lines).toEqual(['aaaaabbbbb______']);
    // A cell aggregating an owned shard and absent ones shows the owner: absent is the least urgent mark.
    const coarse = renderGrid(splitting.shards, order, gridGeometry(16, 4, 1, null), theme, { mode: 'owner', cursor: null });
    expect(coarse.lines).toEqual(['abb_']);
  });

  it('has a title with both counts and a legend entry for the absent mark, what it means in this transition', () => {
    const pane = shardsPane(splitting, ui, { width: 40, height: 6 }, theme, true);
    expect(pane.title).toMatch(/^10 of 16 shards \(split 8→16\) by owner/);
    expect(pane.lines.at(-1)).toContain('_=not split yet');
    const merged = shardsPane(merging, ui, { width: 40, height: 6 }, theme, true);
    expect(merged.title).toMatch(/^12 of 16 shards \(merge 16→8\) by owner/);
    expect(merged.lines.at(-1)).toContain('_=merged');
    const plain = shardsPane(stable, ui, { width: 40, height: 6 }, theme, true);
    expect(plain.title).toMatch(/^16 shards by owner/);
    expect(plain.lines.at(-1)).not.toContain('_=');
  });

  it('says which shard serves an absent shard under the cursor', () => {
    const pane = shardsPane(splitting, { ...ui, cursor: 13 }, { width: 40, height: 6 }, theme, true);
    expect(stripAnsi(pane.lines.at(-2)!)).toContain('▶ shard 13 absent: not split yet, its objects are served by shard 5');
  });
});

describe('status', () => {
  it('document: the count in force, its source, the transition with pairs done, the absent shards', () => {
    const doc = statusDocument(splitting);
    expect(doc.shardCount).toEqual({
      count: 8,
      source: 'record',
      reshards: 0,
      transition: { id: 't1', kind: 'split', state: 'running', from: 8, to: 16, goal: 'split', pairs: 8, done: 2, startedAt: NOW - 120_000, ageMs: 120_000, by: 'alice@ops' },
      cannotFollow: [],
      cannotFollowMatters: false,
    });
    expect(doc.shards).toMatchObject({ total: 10, owned: 10, unowned: 0, absent: 6 });
    expect(statusDocument(stable).shardCount).toMatchObject({ count: 16, reshards: 1, transition: null });
  });

  it('rows: the count, the phase and progress, and who cannot follow with the consequence', () => {
    expect(shardCountLines(stable)).toEqual(["count     16 shards (from the cluster's record, 1 reshard done)"]);
    expect(shardCountLines(splitting)).toEqual([
      "count     8 shards (from the cluster's record)",
      'reshard   split 8 -> 16 running: 2/8 pairs done (25%), started 2m ago by alice@ops; 6 high shards absent',
    ]);
    expect(shardCountLines(aborting)[1]).toBe('reshard   split 8 -> 16 aborting (back to 8): 7/8 pairs back (87%), started 2m ago by alice@ops; 7 high shards absent');
    const during = transitionView({ count: 8, kind: 'split', shards: range(0, 8), extra: [kv(`${P}/nodes/${N3}`, N3, '1')] });
    expect(shardCountLines(during)[2]).toBe(
      `follow    1 member cannot follow a shard-count change: node ${N3} (upstream node (no nodeinfo)); the count is changing or has changed: they get no shards`,
    );
    expect(statusDocument(during).shardCount).toMatchObject({ cannotFollow: [{ address: N3, reason: 'upstream-node' }], cannotFollowMatters: true });
    const before = transitionView({ count: 8, kind: null, shards: range(0, 8), extra: [kv(`${P}/nodes/${N3}`, N3, '1')] });
    expect(shardCountLines(before)[1]).toMatch(/a reshard is refused while they are members$/);
  });
});
