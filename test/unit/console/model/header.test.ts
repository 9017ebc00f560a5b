import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import { parsePrometheusText } from '../../../../src/core/metrics/textFormat.js';
import { buildClusterView, type ClusterView, type NodeMetrics, summarizeScrape } from '../../../../src/core/view/index.js';
import { fitFields, SEP } from '../../../../src/console/model/fields.js';
import { type Connection, headerFields, headerLines, type HeaderFlags } from '../../../../src/console/model/header.js';
import { createTheme } from '../../../../src/console/theme.js';
import { kv, NOW, P, snapshotOf } from '../fixtures.js';

const noColour = createTheme(false);
/** The header as text: without colour only the title is styled (bold). */
const text = (lines: string[]): string[] => lines.map((l) => stripVTControlCharacters(l));
const A = 'goverse-node-0.goverse-headless.production.svc.cluster.local:48000';
const B = 'goverse-node-1.goverse-headless.production.svc.cluster.local:48000';
const DEAD = 'goverse-node-2.goverse-headless.production.svc.cluster.local:48000';
const UPSTREAM = 'upstream-go-node-0.goverse-headless.production.svc.cluster.local:47000';
const ENDPOINTS = ['etcd-0.etcd-headless.production.svc.cluster.local:2379', 'etcd-1.etcd-headless.production.svc.cluster.local:2379'];

const info = (address: string): string =>
  encodeRecord({ nodeId: address, opsUrl: 'http://x:9100', apiUrl: `http://${address}`, version: '0.1.0', weight: 1, startedAt: NOW, state: 'running' });

/** Every optional field of the header at once: dead and rejected nodes, stuck shards, malformed keys, upstream, a pause. */
function troubledView(): ClusterView {
  const shards: Record<number, string> = { 0: `${B},${DEAD}`, 1: `${A},${A},f=pinned`, 2: `${B},${A}` };
  for (let id = 3; id < 64; id++) shards[id] = id % 3 === 0 ? `${UPSTREAM},${UPSTREAM}` : id % 3 === 1 ? `${A},${A}` : `${B},${B}`;
  const snapshot = snapshotOf({
    nodes: [A, B, UPSTREAM],
    numShards: 64,
    shards,
    leader: A,
    extra: [
      kv(`${P}/nodeinfo/${A}`, info(A), '1'),
      kv(`${P}/nodeinfo/${B}`, info(B), '1'),
      kv(`${P}/migration/0`, encodeRecord({ since: NOW - 600_000, target: B, from: DEAD })),
      kv(`${P}/shard/+7`, `${A},${A}`),
      kv(`${P}/nodes/rejected.example:1`, 'rejected.example:1'),
      kv(`${P}/rebalance/pause`, encodeRecord({ until: NOW + 3_600_000, by: 'alice@ops-bastion-1.production', at: NOW, reason: 'investigating slow claims on node 0' }), '1'),
    ],
  });
  const metrics = new Map([[B, { kind: 'unreachable' as const, url: 'http://x:9100/metrics', atMs: NOW, reason: 'connect ECONNREFUSED', lastOk: null }]]);
  return buildClusterView({ snapshot, now: NOW, stuckTimeoutMs: 60_000, metrics, balancer: { strategy: 'count', settings: defaultPlannerSettings(64) } });
}

function calmView(): ClusterView {
  const snapshot = snapshotOf({ nodes: [A, B], numShards: 8192, leader: A, extra: [kv(`${P}/nodeinfo/${A}`, info(A), '1'), kv(`${P}/nodeinfo/${B}`, info(B), '1')] });
  return buildClusterView({ snapshot, now: NOW, stuckTimeoutMs: 60_000, balancer: { strategy: 'count', settings: defaultPlannerSettings(8192) } });
}

const synced: Connection = { endpoints: ENDPOINTS, status: { kind: 'synced', revision: 346, since: NOW }, reconnects: 2 };
const stale: Connection = {
  endpoints: ENDPOINTS,
  status: { kind: 'reconnecting', since: NOW - 12_000, attempts: 3, lastError: 'connect ECONNREFUSED 10.1.2.3:2379' },
  reconnects: 1,
};
const FLAGS: HeaderFlags = { frozen: true, readOnly: '--read-only' };
const PROMETHEUS = 'http://prometheus.monitoring.svc.cluster.local:9090';
const PROMETHEUS_FAILING: HeaderFlags = {
  frozen: false,
  readOnly: null,
  metricsSource: {
    kind: 'prometheus',
    url: PROMETHEUS,
    state: { kind: 'failing', since: NOW - 30_000, reason: 'fetch failed: connect ECONNREFUSED 10.9.8.7:9090' },
  },
};

/** A calm cluster read through Prometheus: A's figures are fresh, B's older than they may get. */
function throughPrometheus(): ClusterView {
  const view = calmView();
  const read = (atMs: number): NodeMetrics => {
    const m = summarizeScrape({ kind: 'ok', url: `${PROMETHEUS} instance x`, atMs, families: parsePrometheusText('goverse_objects_total 3\n') });
    return { ...(m as Extract<NodeMetrics, { kind: 'ok' }>), staleAfterMs: 5_000 };
  };
  const metrics = new Map([
    [A, read(NOW - 1_000)],
    [B, read(NOW - 20_000)],
  ]);
  return buildClusterView({ snapshot: view.snapshot, now: NOW, stuckTimeoutMs: 60_000, metrics, balancer: { strategy: 'count', settings: defaultPlannerSettings(8192) } });
}

/** Figures (counts, ratios, addresses, ages) and words of a line. */
const figures = (line: string): string[] => line.match(/(?<![\w-])\d(?:[\d.:/]*\d)?/g) ?? [];
const words = (line: string): string[] => line.match(/[A-Za-z][A-Za-z-]*/g) ?? [];
/** The short words fields may take, beyond those of the full header. */
const ABBREVIATIONS = new Set(['migr', 'imb', 'rej', 'PAUSED', 'prom']);

describe('header at 80, 100 and 120 columns', () => {
  const cases = [
    ['every optional field, etcd lost', troubledView(), stale, FLAGS],
    ['every optional field, synced', troubledView(), synced, { frozen: false, readOnly: null }],
    ['a calm cluster', calmView(), synced, { frozen: false, readOnly: null }],
    ['every optional field, Prometheus failing', troubledView(), synced, PROMETHEUS_FAILING],
    ['read through Prometheus, figures stale', throughPrometheus(), synced, { ...PROMETHEUS_FAILING, metricsSource: { kind: 'prometheus', url: PROMETHEUS, state: { kind: 'ok', at: NOW } } }],
  ] as const;
  for (const [name, view, connection, flags] of cases) {
    for (const width of [80, 100, 120]) {
      it(`${name}, ${width} columns: fits, and no field is cut in the middle of a word or a figure`, () => {
        const full = text(headerLines(view, connection, flags, noColour));
        const fitted = text(headerLines(view, connection, flags, noColour, width));
        const fields = headerFields(view, connection, flags);
        fitted.forEach((line, i) => {
          expect(line.length, line).toBeLessThanOrEqual(width);
          const fullFigures = new Set(figures(full[i]!));
          for (const f of figures(line)) expect(fullFigures.has(f), `${f} in ${line}`).toBe(true);
          const fullWords = new Set(words(full[i]!));
          for (const w of words(line)) expect(fullWords.has(w) || ABBREVIATIONS.has(w), `${w} in ${line}`).toBe(true);
          // Each field shown is one of its own forms, or its free text cut after a word.
          const shown = fitFields(fields[i]!, width).filter((f) => f !== null);
          expect(line.split(SEP).length).toBe(shown.length);
          for (const form of shown) {
            const shownText = form.map((r) => r.text).join('');
            expect(line).toContain(shownText);
            if (shownText.endsWith('…')) expect(full[i]).toContain(`${shownText.slice(0, -1)} `);
          }
        });
      });
    }
  }

  it('keeps the pinned count and the imbalance of a calm cluster at 80 columns (they were cut off)', () => {
    const line = text(headerLines(calmView(), synced, { frozen: false, readOnly: null }, noColour, 80))[1]!;
    expect(line).toMatch(/pinned 0/);
    expect(line).toMatch(/imb(alance)? 1\.00\/1\.00/);
    expect(line).toMatch(/stuck 0/);
  });

  it('gives way by priority: the stuck count, the state of etcd, the leader and the pause stay at 80 columns', () => {
    const [l1, l2, l3] = text(headerLines(troubledView(), stale, FLAGS, noColour, 80));
    expect(l1).toContain('✖ STALE 12s');
    expect(l1).toContain('FROZEN');
    expect(l1).toContain('READ-ONLY');
    expect(l1).toContain('leader goverse-node-0…:48000');
    expect(l1).not.toContain('goverse-top'); // the title goes first
    expect(l2).toContain('stuck 1');
    expect(l2).toMatch(/nodes 3 (alive )?\(1 dead/);
    expect(l3).toMatch(/^⏸ (REBALANCING )?PAUSED 1h00m left/);
  });

  it('shows everything when there is room, as before', () => {
    const [l1, l2, l3] = text(headerLines(troubledView(), stale, FLAGS, noColour, 400));
    expect(l1).toContain(`etcd ${ENDPOINTS.join(',')} ✖ STALE 12s reconnects 1: etcd unreachable (attempt 3: connect ECONNREFUSED 10.1.2.3:2379)`);
    expect(l2).toContain('nodes 3 alive (1 dead) (1 rejected)');
    expect(l2).toContain('unreachable from upstream');
    expect(l2).toContain('malformed 2 keys');
    expect(l3).toContain('⏸ REBALANCING PAUSED 1h00m left, by alice@ops-bastion-1.production (investigating slow claims on node 0)');
  });

  it('cuts free text after a word when a few words fit', () => {
    const view = calmView();
    const long = { ...view, balancer: { ...view.balancer, reason: 'count: spread 0 → 0 shards, limit 1638.4 (ideal 4096) and some more words to cut' } };
    const line = text(headerLines(long, synced, { frozen: false, readOnly: null }, noColour, 60))[2]!;
    expect(line).toMatch(/^balancer \w+ \(computed\): count: spread 0 → 0 shards, limit…$|^balancer \w+ \(computed\): count: spread 0 → 0 shards,…$/);
    expect(line.length).toBeLessThanOrEqual(60);
  });

  it('keeps a failing Prometheus first at 80 columns, and its reason when there is room, before calm figures', () => {
    const narrow = text(headerLines(troubledView(), synced, PROMETHEUS_FAILING, noColour, 80))[1]!;
    expect(narrow).toMatch(/^✖ PROMETHEUS FAILING 30s/);
    expect(narrow).toContain('stuck 1');
    const wide = text(headerLines(troubledView(), synced, PROMETHEUS_FAILING, noColour, 400))[1]!;
    expect(wide).toContain('✖ PROMETHEUS FAILING 30s: fetch failed: connect ECONNREFUSED 10.9.8.7:9090');
    // At 120 columns the reason stays; the calm figures give way.
    const mid = text(headerLines(troubledView(), synced, PROMETHEUS_FAILING, noColour, 120))[1]!;
    expect(mid).toContain('✖ PROMETHEUS FAILING 30s: fetch failed: connect ECONNREFUSED 10.9.8.7:9090');
    expect(mid).toContain('stuck 1');
  });

  it('says the metrics come through Prometheus, and counts the nodes whose figures are stale', () => {
    const flags: HeaderFlags = { frozen: false, readOnly: null, metricsSource: { kind: 'prometheus', url: PROMETHEUS, state: { kind: 'ok', at: NOW } } };
    expect(text(headerLines(throughPrometheus(), synced, flags, noColour, 400))[1]).toContain('metrics 1/2 via prometheus (1 stale)');
    expect(text(headerLines(throughPrometheus(), synced, { frozen: false, readOnly: null }, noColour, 400))[1]).toContain('metrics 1/2 (1 stale)');
  });
});
