import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import { buildClusterView } from '../../../../src/core/view/index.js';
import { buildFrame } from '../../../../src/console/model/frame.js';
import { HOT_SHARDS_TABLE } from '../../../../src/console/model/locksPane.js';
import { NODES_TABLE } from '../../../../src/console/model/nodesPane.js';
import { TIMELINE_TABLE } from '../../../../src/console/model/rebalancePane.js';
import { STUCK_TABLE } from '../../../../src/console/model/stuckPane.js';
import { renderTable, type TableSpec } from '../../../../src/console/model/table.js';
import { initialUi, type ListUi } from '../../../../src/console/model/ui.js';
import { describeResult, nothingToDoText } from '../../../../src/console/model/writes.js';
import { planOperation } from '../../../../src/core/operations/operations.js';
import { PANES } from '../../../../src/console/keys.js';
import { createTheme } from '../../../../src/console/theme.js';
import { N1, NOW, richHistory, richMetrics, richSnapshot, snapshotOf, stripAnsi } from '../fixtures.js';

const theme = createTheme(true);
const viewInput = {
  snapshot: richSnapshot(),
  now: NOW,
  stuckTimeoutMs: 60_000,
  balancer: { strategy: 'count' as const, settings: defaultPlannerSettings(48) },
  metrics: richMetrics(),
};
const view = buildClusterView(viewInput);
const connection = { endpoints: ['127.0.0.1:2379'], status: { kind: 'synced', revision: 1, since: NOW } as const, reconnects: 0 };

describe('frame', () => {
  it('every line fits the width and the frame stays shorter than the terminal, whatever the size and pane', () => {
    fc.assert(
      fc.property(fc.integer({ min: 40, max: 220 }), fc.integer({ min: 12, max: 80 }), fc.constantFrom(...PANES), (cols, rows, focus) => {
        const f = buildFrame({ view, connection, ui: { ...initialUi({ readOnly: false }), focus }, cols, rows, theme, history: richHistory(), readOnlyReason: null });
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
    const f = buildFrame({ view, connection, ui: { ...initialUi({ readOnly: false }), focus: 'stuck' }, cols: 120, rows: 30, theme, history: richHistory(), readOnlyReason: null });
    expect(f.context.selection).toEqual({ kind: 'shard', id: 7, pinned: false });
    expect(f.context.lists.stuck.keys).toEqual(['7']);
    expect(f.context.targets).toEqual([N1, '10.0.0.2:7001']);
    expect(f.context.map).toBeNull();
  });
});

describe('at 80 columns and narrower', () => {
  const plainTheme = createTheme(false);
  const hintLine = (focus: (typeof PANES)[number], cols: number, readOnly = false): string =>
    stripAnsi(buildFrame({ view, connection, ui: { ...initialUi({ readOnly }), focus }, cols, rows: 24, theme: plainTheme, history: richHistory(), readOnlyReason: null }).prompt);

  it('the hint line drops whole hints, least important first, so ? help and q quit always show', () => {
    fc.assert(
      fc.property(fc.integer({ min: 40, max: 220 }), fc.constantFrom(...PANES), fc.boolean(), (cols, focus, readOnly) => {
        const hints = hintLine(focus, cols, readOnly);
        expect(hints.length).toBeLessThanOrEqual(cols);
        expect(hints.startsWith('? help  ')).toBe(true);
        expect(hints.endsWith('  q quit')).toBe(true);
        // Whole `key word` pairs only: nothing cut mid-word, no ellipsis.
        for (const hint of hints.split('  ')) expect(hint).toMatch(/^\S+ [a-z]+$/);
      }),
      { numRuns: 80 },
    );
    expect(hintLine('shards', 80)).toBe('? help  : cmd  / filter  tab pane  p pin  r reassign  x release  P pause  q quit');
    expect(hintLine('shards', 120)).toBe('? help  : cmd  / filter  tab pane  enter details  p pin  r reassign  x release  P pause  q quit');
  });

  it('the header shows the stuck count at 80 columns', () => {
    const metrics = richMetrics();
    metrics.set(N1, { kind: 'unreachable', url: 'http://10.0.0.1:9100/metrics', atMs: NOW, reason: 'timeout', lastOk: null });
    const troubled = buildClusterView({ ...viewInput, metrics });
    for (const v of [view, troubled]) {
      const f = buildFrame({ view: v, connection, ui: initialUi({ readOnly: false }), cols: 80, rows: 24, theme: plainTheme, history: richHistory(), readOnlyReason: null });
      expect(stripAnsi(f.header[1]!)).toMatch(/│ stuck 1( │|$)/);
    }
  });

  it('the sort direction marker shows on the sorted column, however narrow', () => {
    const specs: TableSpec<never>[] = [NODES_TABLE, STUCK_TABLE, HOT_SHARDS_TABLE, TIMELINE_TABLE] as unknown as TableSpec<never>[];
    for (const spec of specs) {
      spec.columns.forEach((column, sortColumn) => {
        for (const descending of [false, true]) {
          const ui = { cursor: null, offset: 0, sortColumn, descending, filter: null };
          const header = stripAnsi(renderTable(spec, [], ui, { width: 80, height: 3 }, plainTheme, false).header);
          expect(header, `${column.title} ${descending ? 'descending' : 'ascending'}`).toContain(descending ? '▼' : '▲');
          expect(header).not.toContain('…');
        }
      });
    }
    const byReady = renderTable(NODES_TABLE, view.nodes, { cursor: null, offset: 0, sortColumn: 2, descending: false, filter: null }, { width: 80, height: 5 }, plainTheme, false);
    expect(stripAnsi(byReady.header)).toMatch(/ ST RD▲ /);
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
  const base = { operation: 'pin' as const, summary: 'pin 1 shard', dryRun: false, skipped: [] };
  it('names key, old and new value and the ModRevision compared', () => {
    const r = describeResult({
      ...base,
      changes: [{ id: 1, key: '/p/shard/1', old: 'a,a', new: 'a,a,f=pinned', modRevision: 7, written: true, outcome: 'written' }],
      conflicts: 0,
      failed: 0,
    });
    expect(r).toBe('pin: wrote /p/shard/1: "a,a" → "a,a,f=pinned" (ModRevision was 7)');
  });

  it('a release refused for a live owner: not stuck when settled on it, only that it has no target otherwise', () => {
    const snapshot = snapshotOf({ nodes: [N1], numShards: 2, shards: { 0: `${N1},${N1}`, 1: `,${N1}` } });
    expect(nothingToDoText(planOperation({ kind: 'release', shards: [0, 1], refusals: 'refuse' }, { snapshot, now: NOW, by: 'tester' }))).toBe(
      `release: nothing to do: shard 0: not stuck (owned by alive node ${N1}, not migrating); ` +
        `shard 1: owned by alive node ${N1}, no target, not migrating; forcing is only available from the CLI: goverse-top release 0-1 --force`,
    );
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
