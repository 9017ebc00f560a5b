import { describe, expect, it } from 'vitest';
import { computeLayout, HEADER_LINES } from '../../../../src/console/model/layout.js';

describe('console layout', () => {
  it('at 80x24 shows one pane and keeps the frame one line shorter than the terminal', () => {
    const l = computeLayout(80, 24, 'nodes');
    expect(l.kind).toBe('normal');
    if (l.kind !== 'normal') return;
    expect(l.height).toBe(23);
    expect(l.slots).toEqual([{ pane: 'nodes', height: l.body, focused: true }]);
    expect(HEADER_LINES + 1 + l.body + 2).toBe(l.height);
  });

  it('a tall terminal adds the companion pane, shard map on top', () => {
    const l = computeLayout(120, 60, 'stuck');
    if (l.kind !== 'normal') throw new Error('expected a normal layout');
    expect(l.slots.map((s) => s.pane)).toEqual(['shards', 'stuck']);
    expect(l.slots.reduce((n, s) => n + s.height, 0)).toBe(l.body);
    const m = computeLayout(120, 60, 'shards');
    if (m.kind !== 'normal') throw new Error('expected a normal layout');
    expect(m.slots.map((s) => [s.pane, s.focused])).toEqual([
      ['shards', true],
      ['nodes', false],
    ]);
  });

  it('reports a terminal that is too small', () => {
    expect(computeLayout(30, 24, 'nodes').kind).toBe('too-small');
    expect(computeLayout(80, 8, 'nodes').kind).toBe('too-small');
  });
});
