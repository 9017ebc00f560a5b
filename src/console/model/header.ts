/**
 * The three header lines, pure: where the console is connected and whether its picture is current, the cluster in
 * numbers, and what the balancer does and why. Trouble (stale view, dead leader, stuck shards, unreachable metrics)
 * is spelled out in words, so it reads the same without colour.
 */
import { printable } from '../../core/text/printable.js';
import { type ClusterView, malformedIn } from '../../core/view/index.js';
import type { WatcherStatus } from '../../edge/etcd/watcher.js';
import type { PrometheusState } from '../../edge/http/prometheus.js';
import { compactAge } from '../text.js';
import type { Theme } from '../theme.js';

/** The etcd connection as the header shows it. */
export interface Connection {
  readonly endpoints: readonly string[];
  readonly status: WatcherStatus;
  /** Times the watch was lost (reconnecting or stale) since the console started. */
  readonly reconnects: number;
}

/** Where the nodes' metrics come from: the console's own scrapes, or a Prometheus server and how it answers. */
export type MetricsSource = { readonly kind: 'scrape' } | { readonly kind: 'prometheus'; readonly url: string; readonly state: PrometheusState };

export interface HeaderFlags {
  readonly frozen: boolean;
  /** Why writes are off (`--read-only`, stdin not a terminal), or null when they are on. */
  readonly readOnly: string | null;
  readonly metricsSource?: MetricsSource;
}

const SEP = ' │ ';

export function connectionText(c: Connection, now: number, theme: Theme): string {
  const s = c.status;
  // The counter goes before the reason, which can be long and is cut at the terminal's edge.
  const reconnects = c.reconnects > 0 ? theme.tone(` reconnects ${c.reconnects}`, 'warn') : '';
  switch (s.kind) {
    case 'synced':
      return `${theme.tone('● synced', 'good')}${reconnects}`;
    case 'connecting':
      return theme.tone(`○ connecting ${compactAge(now - s.since)}`, 'warn');
    case 'reconnecting':
      return `${theme.tone(`✖ STALE ${compactAge(now - s.since)}`, 'bad')}${reconnects}${theme.tone(`: etcd unreachable (attempt ${s.attempts}: ${printable(s.lastError)})`, 'bad')}`;
    case 'stale':
      return `${theme.tone(`✖ STALE ${compactAge(now - s.since)}`, 'bad')}${reconnects}${theme.tone(`: ${printable(s.reason)}`, 'bad')}`;
  }
}

/**
 * Alive nodes with fresh metrics, then those not answering and those whose figures are stale (answered, but not
 * lately: shown, yet older than the source's threshold); `via prometheus` when read through it (while it fails, the
 * figures shown are the last it gave, and turn stale).
 */
function metricsText(view: ClusterView, source: MetricsSource, theme: Theme): string {
  const nc = view.nodeCounts;
  const trouble = [nc.metricsFailing > 0 ? `${nc.metricsFailing} unreachable` : '', nc.metricsStale > 0 ? `${nc.metricsStale} stale` : ''].filter((t) => t !== '');
  const via = source.kind === 'prometheus' ? ' via prometheus' : '';
  const text = `metrics ${nc.metricsOk}/${nc.alive}${via}${trouble.length === 0 ? '' : ` (${trouble.join(', ')})`}`;
  return nc.metricsFailing > 0 ? theme.tone(text, 'bad') : nc.metricsStale > 0 ? theme.tone(text, 'warn') : text;
}

/** Addresses, the pause's author and reason, and the balancer's reason come from etcd: each is shown printable. */
export function headerLines(view: ClusterView, connection: Connection, flags: HeaderFlags, theme: Theme): string[] {
  const now = view.now;
  const snap = view.snapshot;
  const badges = [flags.frozen ? theme.tone(' FROZEN (Z) ', 'warn') : '', flags.readOnly !== null ? theme.tone(` READ-ONLY `, 'accent') : '']
    .filter((b) => b !== '')
    .join(' ');
  const leader =
    view.leader === null
      ? theme.tone('leader none', 'warn')
      : view.leader.alive
        ? `leader ${printable(view.leader.address)}${view.upstream.leader === null ? '' : ' (upstream)'}`
        : theme.tone(`leader ${printable(view.leader.address)} (dead)`, 'bad');
  const line1 = [
    `${theme.tone('goverse-top', 'title')}${badges === '' ? '' : ` ${badges}`}`,
    `etcd ${printable(connection.endpoints.join(','))} ${connectionText(connection, now, theme)}`,
    leader,
    `rev ${snap.revision}`,
    `prefix ${printable(snap.prefix)}`,
  ].join(SEP);

  const nc = view.nodeCounts;
  const c = view.counts;
  const im = view.imbalance;
  // Forged or broken keys are ignored by the cluster; the header says so (`status` lists them).
  const rejected = malformedIn(view.malformed, snap.prefix, ['nodes']).length;
  // The most alarming figures first, so an 80-column terminal still shows the stuck count where the line is cut.
  const source = flags.metricsSource ?? { kind: 'scrape' };
  // A Prometheus that fails goes first, where a narrow terminal still shows it and its URL.
  const failing = source.kind === 'prometheus' && source.state.kind === 'failing' ? source.state : null;
  const line2 = [
    ...(failing === null ? [] : [theme.tone(`✖ PROMETHEUS FAILING ${compactAge(view.now - failing.since)}: ${printable(failing.reason)}`, 'bad')]),
    `nodes ${nc.alive} alive${nc.total > nc.alive ? theme.tone(` (${nc.total - nc.alive} dead)`, 'bad') : ''}` +
      (rejected > 0 ? theme.tone(` (${rejected} rejected)`, 'bad') : ''),
    c.owned === c.total ? `shards ${c.owned}/${c.total} owned` : theme.tone(`shards ${c.owned}/${c.total} owned`, 'warn'),
    c.stuck > 0 ? theme.tone(`stuck ${c.stuck}`, 'bad') : 'stuck 0',
    ...(view.malformed.length > 0 ? [theme.tone(`malformed ${view.malformed.length} keys`, 'bad')] : []),
    // Upstream gates and nodes call objects over their gRPC protocol: a goverse-node's shards are out of their reach.
    ...(view.upstream.unreachableShards > 0 ? [theme.tone(`unreachable from upstream ${view.upstream.unreachableShards}`, 'warn')] : []),
    metricsText(view, source, theme),
    // The shard state `migrating`, as the map's `>`, `shards --state migrating` and `status` count it.
    c.migrating > 0 ? theme.tone(`migrating ${c.migrating}`, 'warn') : 'migrating 0',
    `pinned ${c.pinned}`,
    `imbalance ${im.maxOverIdeal.toFixed(2)}/${im.minOverIdeal.toFixed(2)} of ideal`,
  ].join(SEP);

  const b = view.balancer;
  const tone = b.state === 'balanced' ? 'good' : b.state === 'stalled' ? 'bad' : b.state === 'acting' ? 'accent' : 'warn';
  // The pause countdown goes first: it must stay visible when a long reason is cut at the terminal's edge.
  const pause =
    b.pause === null
      ? ''
      : `${theme.tone(`⏸ REBALANCING PAUSED ${compactAge(b.pause.remainingMs)} left, by ${printable(b.pause.by)}${b.pause.reason === '' ? '' : ` (${printable(b.pause.reason)})`}`, 'warn')}${SEP}`;
  const line3 = `${pause}balancer ${theme.tone(b.state, tone)}${b.source === 'computed' ? ' (computed)' : ''}: ${printable(b.reason)}`;
  // Lines longer than the terminal are cut by Ink (wrap="truncate"), which keeps escape codes intact.
  return [line1, line2, line3];
}
