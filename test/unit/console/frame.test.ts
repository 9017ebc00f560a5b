import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultPlannerSettings } from '../../../src/core/planner/settings.js';
import { buildClusterView } from '../../../src/core/view/index.js';
import { buildFrame } from '../../../src/console/model/frame.js';
import { renderTable, type TableSpec } from '../../../src/console/model/table.js';
import { initialUi, type ListUi } from '../../../src/console/model/ui.js';
import { describeResult } from '../../../src/console/model/writes.js';
import { PANES } from '../../../src/console/keys.js';
import { createTheme } from '../../../src/console/theme.js';
import { N1, NOW, richMetrics, richSnapshot, stripAnsi } from './fixtures.js';

const theme = createTheme(true);
const view = buildClusterView({
  snapshot: richSnapshot(),
  now: NOW,
  stuckTimeoutMs: 60_000,
  balancer: { strategy: 'count', settings: defaultPlannerSettings(48) },
  metrics: richMetrics(),
});
const connection = { endpoints: ['127.0.0.1:2379'], status: { kind: 'synced', revision: 1, since: NOW } as const, reconnects: 0 };

describe('frame', () => {
  it('every line fits the width and the frame stays shorter than the terminal, whatever the size and pane', () => {
    fc.assert(
      fc.property(fc.integer({ min: 40, max: 220 }), fc.integer({ min: 12, max: 80 }), fc.constantFrom(...PANES), (cols, rows, focus) => {
        const f = buildFrame({ view, connection, ui: { ...initialUi({ readOnly: false }), focus }, cols, rows, theme, readOnlyReason: null });
        if (f.layout.kind !== 'normal') throw new Error('expected a normal layout');
        const all = [...f.header, f.tabs, ...f.panes.flatMap((p) => [p.title, ...p.lines.slice(0, p.height - 1)]), f.status, f.prompt];
        for (const l of all) expect(stripAnsi(l).length).toBeLessThanOrEqual(cols);
        const height = f.header.length + 1 + f.panes.reduce((n, p) => n + p.height, 0) + 2;
        expect(height).toBeLessThan(rows);
        for (const p of f.panes) expect(p.lines.length).toBeLessThanOrEqual(p.height - 1);
      }),
      { numRuns: 60 },
    );
  });

  it('tells the key reducer what is selected and which nodes a reassign may pick', () => {
    const f = buildFrame({ view, connection, ui: { ...initialUi({ readOnly: false }), focus: 'stuck' }, cols: 120, rows: 30, theme, readOnlyReason: null });
    expect(f.context.selection).toEqual({ kind: 'shard', id: 7, pinned: false });
    expect(f.context.lists.stuck.keys).toEqual(['7']);
    expect(f.context.targets).toEqual([N1, '10.0.0.2:7001']);
    expect(f.context.map).toBeNull();
  });
});

describe('tables', () => {
  interface Row {
    readonly name: string;
    readonly n: number | null;
  }
  const spec: TableSpec<Row> = {
    columns: [
      { title: 'NAME', width: 0, sort: (r) => r.name, text: (r) => r.name },
      { title: 'N', width: 4, align: 'right', sort: (r) => r.n, text: (r) => (r.n === null ? '-' : String(r.n)) },
    ],
    key: (r) => r.name,
  };
  const rows: Row[] = Array.from({ length: 20 }, (_, i) => ({ name: `row${String(i).padStart(2, '0')}`, n: i % 5 === 0 ? null : i }));
  const ui = (over: Partial<ListUi> = {}): ListUi => ({ cursor: null, offset: 0, sortColumn: 0, descending: false, filter: null, ...over });
  const plain = createTheme(false);

  it('shows only the rows that fit, keeping the selected row in view', () => {
    const t = renderTable(spec, rows, ui({ cursor: 'row15' }), { width: 20, height: 6 }, plain, true);
    expect(t.pageSize).toBe(5);
    expect(t.lines).toHaveLength(5);
    expect(t.lines.some((l) => l.includes('row15'))).toBe(true);
    expect(t.selected?.name).toBe('row15');
  });

  it('sorts unknown values last in both directions', () => {
    const asc = renderTable(spec, rows, ui({ sortColumn: 1 }), { width: 20, height: 30 }, plain, false);
    const desc = renderTable(spec, rows, ui({ sortColumn: 1, descending: true }), { width: 20, height: 30 }, plain, false);
    expect(asc.keys.slice(0, 2)).toEqual(['row01', 'row02']);
    expect(desc.keys.slice(0, 2)).toEqual(['row19', 'row18']);
    for (const t of [asc, desc]) expect(t.keys.slice(-4)).toEqual(['row00', 'row05', 'row10', 'row15']);
  });

  it('filters on the text of every column, or keeps the rest when inverted', () => {
    expect(renderTable(spec, rows, ui({ filter: { text: 'ROW1', inverse: false } }), { width: 20, height: 30 }, plain, false).keys).toHaveLength(10);
    expect(renderTable(spec, rows, ui({ filter: { text: '-', inverse: true } }), { width: 20, height: 30 }, plain, false).keys).toHaveLength(16);
  });
});

describe('write results', () => {
  const base = { operation: 'pin' as const, summary: 'pin 1 shards', dryRun: false, skipped: [] };
  it('names key, old and new value and the ModRevision compared', () => {
    const r = describeResult({
      ...base,
      changes: [{ id: 1, key: '/p/shard/1', old: 'a,a', new: 'a,a,f=pinned', modRevision: 7, written: true, outcome: 'written' }],
      conflicts: 0,
      failed: 0,
    });
    expect(r).toBe('pin: wrote /p/shard/1: "a,a" → "a,a,f=pinned" (ModRevision was 7)');
  });

  it('reports a lost compare-and-swap with the value found, and failures with their error', () => {
    const r = describeResult({
      ...base,
      changes: [
        { id: 1, key: '/p/shard/1', old: 'a,a', new: 'a,a,f=pinned', modRevision: 7, written: false, outcome: 'conflict', found: 'b,b' },
        { id: 2, key: '/p/shard/2', old: 'a,a', new: 'a,a,f=pinned', modRevision: 8, written: false, outcome: 'failed', error: 'timeout' },
      ],
      conflicts: 1,
      failed: 1,
    });
    expect(r).toBe('pin: CONFLICT on /p/shard/1: changed meanwhile (now "b,b"), not written; FAILED /p/shard/2: timeout');
  });
});
