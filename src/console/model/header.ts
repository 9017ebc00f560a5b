/**
 * The three header lines, pure: where the console is connected and whether its picture is current (and the shard
 * count in force), the cluster in numbers, and a shard-count transition's progress and what the balancer does and why. Trouble (stale view, dead leader, stuck shards, unreachable metrics)
 * is spelled out in words, so it reads the same without colour. Each line is a list of fields that fits the width by
 * abbreviating and dropping the least important ones (fields.ts), never by cutting a figure at the edge.
 */
import { cannotFollowMatters } from '../../core/planner/countFollowers.js';
import { printable } from '../../core/text/printable.js';
import { type ClusterView, malformedIn } from '../../core/view/index.js';
import type { WatcherStatus } from '../../edge/etcd/watcher.js';
import type { PrometheusState } from '../../edge/http/prometheus.js';
import { compactAge } from '../text.js';
import type { Theme, Tone } from '../theme.js';
import { type Field, type Form, renderFields, run, type Shorter } from './fields.js';

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

const abbreviation = (form: Form): Shorter => ({ form, rank: 'abbreviation' });
const at = (rank: number, form: Form): Shorter => ({ form, rank });
const plain = (rank: number, full: Form, shorter: readonly Shorter[] = []): Field => ({ rank, full, shorter });

/** A figure that turns `tone` when `trouble`, which makes it more important too; its other forms abbreviate. */
function figure(rank: number, forms: readonly string[], trouble: boolean, tone: Tone): Field {
  const [full, ...shorter] = forms.map((text): Form => [run(text, trouble ? tone : undefined)]);
  return plain(trouble ? Math.min(rank, 1) : rank, full!, shorter.map(abbreviation));
}

/**
 * The etcd endpoints and the watch's state. The endpoints give way first, then the reason of a lost watch (cut
 * after a word while there is room), then the reconnect count; the state itself stays.
 */
function connectionField(c: Connection, now: number): Field {
  const s = c.status;
  const reconnects = c.reconnects > 0 ? [run(` reconnects ${c.reconnects}`, 'warn')] : [];
  let state: Form;
  let reason: string | null = null;
  const briefer: Form[] = [];
  switch (s.kind) {
    case 'synced':
      state = [run('● synced', 'good'), ...reconnects];
      if (reconnects.length > 0) briefer.push([run('● synced', 'good')]);
      break;
    case 'connecting':
      state = [run(`○ connecting ${compactAge(now - s.since)}`, 'warn')];
      break;
    case 'reconnecting':
    case 'stale': {
      const stale = run(`✖ STALE ${compactAge(now - s.since)}`, 'bad');
      state = [stale, ...reconnects];
      reason = s.kind === 'stale' ? printable(s.reason) : `etcd unreachable (attempt ${s.attempts}: ${printable(s.lastError)})`;
      if (s.kind === 'reconnecting') briefer.push([...state, run(`: etcd unreachable (attempt ${s.attempts})`, 'bad')]);
      briefer.push(state);
      if (reconnects.length > 0) briefer.push([stale]);
      break;
    }
  }
  const full = reason === null ? state : [...state, run(`: ${reason}`, 'bad')];
  const endpoints = c.endpoints.map(printable);
  const withFirst: Shorter[] = endpoints.length > 1 ? [at(6, [run(`etcd ${endpoints[0]} +${endpoints.length - 1} `), ...full])] : [];
  // The last short form drops the reconnect count, after the leader's address has been shortened.
  const ranks = briefer.map((_, i) => (i === briefer.length - 1 && reconnects.length > 0 ? 3 : 4));
  return {
    rank: 0,
    full: [run(`etcd ${endpoints.join(',')} `), ...full],
    shorter: [...withFirst, at(5, full), ...briefer.map((form, i) => at(ranks[i]!, form))],
    ...(reason === null ? {} : { prose: { lead: [...state, run(': ', 'bad')], text: reason, tone: 'bad' as const } }),
  };
}

/**
 * A host name's first label and the port (`goverse-node-0…:48000`): what tells nodes apart in a long DNS name. Null
 * for IP addresses and single-label names, which are never shortened.
 */
export function shortAddress(address: string): string | null {
  const m = /^([A-Za-z][A-Za-z0-9-]*)\.[^:]*[A-Za-z][^:]*(:\d+)$/.exec(address);
  return m === null ? null : `${m[1]}…${m[2]}`;
}

function leaderField(view: ClusterView): Field {
  const leader = view.leader;
  if (leader === null) return plain(0, [run('leader none', 'warn')]);
  const address = printable(leader.address);
  const short = shortAddress(address);
  if (!leader.alive) return plain(0, [run(`leader ${address} (dead)`, 'bad')], short === null ? [] : [at(3, [run(`leader ${short} (dead)`, 'bad')])]);
  const upstream = view.upstream.leader === null ? '' : ' (upstream)';
  return plain(2, [run(`leader ${address}${upstream}`)], short === null ? [] : [at(3, [run(`leader ${short}${upstream}`)])]);
}

function line1(view: ClusterView, connection: Connection, flags: HeaderFlags): Field[] {
  return [
    plain(8, [run('goverse-top', 'title')]),
    ...(flags.frozen ? [plain(0, [run(' FROZEN (Z) ', 'warn')], [at(3, [run(' FROZEN ', 'warn')])])] : []),
    ...(flags.readOnly !== null ? [plain(0, [run(' READ-ONLY ', 'accent')])] : []),
    connectionField(connection, view.now),
    leaderField(view),
    plain(7, [run(`rev ${view.snapshot.revision}`)]),
    plain(6, [run(`prefix ${printable(view.snapshot.prefix)}`)]),
    // The count in force; during a transition where it goes, which matters more then.
    view.reshard === null ? plain(5, [run(`${view.snapshot.layout.count} shards`)]) : plain(2, [run(`${view.reshard.from} shards → ${view.reshard.to}`)]),
  ];
}

/**
 * Alive nodes with fresh metrics, then those not answering and those whose figures are stale (answered, but not
 * lately: shown, yet older than the source's threshold); `via prometheus` when read through it (while it fails, the
 * figures shown are the last it gave, and turn stale).
 */
function metricsField(view: ClusterView, source: MetricsSource): Field {
  const nc = view.nodeCounts;
  const trouble = [...(nc.metricsFailing > 0 ? [`${nc.metricsFailing} unreachable`] : []), ...(nc.metricsStale > 0 ? [`${nc.metricsStale} stale`] : [])];
  const base = `metrics ${nc.metricsOk}/${nc.alive}`;
  const [via, viaBrief] = source.kind === 'prometheus' ? [' via prometheus', ' via prom'] : ['', ''];
  const detail = trouble.length === 0 ? '' : ` (${trouble.join(', ')})`;
  const forms = [`${base}${via}${detail}`, ...(via === '' ? [] : [`${base}${viaBrief}${detail}`]), ...(detail === '' ? [] : [`${base}${viaBrief}`])];
  return trouble.length === 0 ? figure(3, forms, false, 'bad') : figure(1, forms, true, nc.metricsFailing > 0 ? 'bad' : 'warn');
}

/**
 * A Prometheus whose refreshes fail (the one `--prometheus-url` names), and why: it never leaves the line, and its
 * reason stays longer than the calm figures, since it says what to fix.
 */
function prometheusFailingField(now: number, failing: Extract<PrometheusState, { kind: 'failing' }>): Field {
  const state: Form = [run(`✖ PROMETHEUS FAILING ${compactAge(now - failing.since)}`, 'bad')];
  const reason = printable(failing.reason);
  return { rank: 0, full: [...state, run(`: ${reason}`, 'bad')], shorter: [at(1, state)], prose: { lead: [...state, run(': ', 'bad')], text: reason, tone: 'bad' } };
}

function line2(view: ClusterView, source: MetricsSource): Field[] {
  const nc = view.nodeCounts;
  const dead = nc.total - nc.alive;
  const c = view.counts;
  const im = view.imbalance;
  // Forged or broken keys are ignored by the cluster; the header says so (`status` lists them).
  const rejected = malformedIn(view.malformed, view.snapshot.prefix, ['nodes']).length;
  const ratios = `${im.maxOverIdeal.toFixed(2)}/${im.minOverIdeal.toFixed(2)}`;
  const trouble = [...(dead > 0 ? [`${dead} dead`] : []), ...(rejected > 0 ? [`${rejected} rejected`] : [])];
  const troubleBrief = [...(dead > 0 ? [`${dead} dead`] : []), ...(rejected > 0 ? [`${rejected} rej`] : [])];
  const nodes = plain(
    0,
    [run(`nodes ${nc.alive} alive`), ...trouble.map((t) => run(` (${t})`, 'bad'))],
    [abbreviation([run(`nodes ${nc.alive}`), ...(trouble.length > 0 ? [run(` (${troubleBrief.join(', ')})`, 'bad')] : [])])],
  );
  const shards = `shards ${c.owned}/${c.total}`;
  // A Prometheus that fails goes first: the figures after it are no longer current.
  const failing = source.kind === 'prometheus' && source.state.kind === 'failing' ? source.state : null;
  return [
    ...(failing === null ? [] : [prometheusFailingField(view.now, failing)]),
    nodes,
    figure(1, [`${shards} owned`, shards], c.owned !== c.total, 'warn'),
    figure(0, [`stuck ${c.stuck}`], c.stuck > 0, 'bad'),
    ...(view.malformed.length > 0 ? [figure(1, [`malformed ${view.malformed.length} keys`, `malformed ${view.malformed.length}`], true, 'bad')] : []),
    // Members routing with another count get no shards once it changes (`status` names them).
    ...(cannotFollowMatters(view.snapshot, view.cannotFollow)
      ? [figure(1, [`cannot follow count ${view.cannotFollow.length}`, `no-follow ${view.cannotFollow.length}`], true, 'bad')]
      : []),
    // Upstream gates and nodes call objects over their gRPC protocol: a goverse-node's shards are out of their reach.
    ...(view.upstream.unreachableShards > 0
      ? [figure(2, [`unreachable from upstream ${view.upstream.unreachableShards}`, `unreachable ${view.upstream.unreachableShards}`], true, 'warn')]
      : []),
    metricsField(view, source),
    // The shard state `migrating`, as the map's `>`, `shards --state migrating` and `status` count it.
    figure(2, [`migrating ${c.migrating}`, `migr ${c.migrating}`], c.migrating > 0, 'warn'),
    figure(2, [`pinned ${c.pinned}`], false, 'warn'),
    figure(2, [`imbalance ${ratios} of ideal`, `imbalance ${ratios}`, `imb ${ratios}`], false, 'warn'),
  ];
}

function line3(view: ClusterView): Field[] {
  const b = view.balancer;
  const tone = b.state === 'balanced' ? 'good' : b.state === 'stalled' ? 'bad' : b.state === 'acting' ? 'accent' : 'warn';
  const state: Form = [run('balancer '), run(b.state, tone)];
  const lead: Form = [...state, run(b.source === 'computed' ? ' (computed)' : '')];
  const reason = printable(b.reason);
  const balancer: Field = {
    rank: 1,
    full: [...lead, run(`: ${reason}`)],
    shorter: [at(2, lead), abbreviation(state)],
    prose: { lead: [...lead, run(': ')], text: reason },
  };
  const reshard = reshardField(view);
  if (b.pause === null) return [...reshard, balancer];
  // The pause and its countdown are the last to give way; while paused, the balancer's reason repeats the pause.
  const left = `${compactAge(b.pause.remainingMs)} left`;
  const by = `, by ${printable(b.pause.by)}`;
  const why = b.pause.reason === '' ? '' : ` (${printable(b.pause.reason)})`;
  const pause = plain(
    0,
    [run(`⏸ REBALANCING PAUSED ${left}${by}${why}`, 'warn')],
    [abbreviation([run(`⏸ PAUSED ${left}${by}${why}`, 'warn')]), at(1, [run(`⏸ PAUSED ${left}${by}`, 'warn')]), at(1, [run(`⏸ PAUSED ${left}`, 'warn')])],
  );
  return [...reshard, pause, balancer];
}

/**
 * The transition under way, fullest form first, and its tone, or null at a stable count: kind, counts, pairs done of
 * all, age and who started it; while aborting, the pairs back where they started.
 */
export function reshardTexts(view: ClusterView): { readonly texts: readonly string[]; readonly tone: Tone } | null {
  const r = view.reshard;
  if (r === null) return null;
  const percent = r.pairs === 0 ? 100 : Math.floor((r.done * 100) / r.pairs);
  const age = r.startedAt > 0 ? ` ${compactAge(Math.max(0, view.now - r.startedAt))}` : '';
  const by = r.by === '' ? '' : ` by ${printable(r.by)}`;
  const kind = r.kind.toUpperCase();
  if (r.state === 'aborting') {
    const head = `⇅ ABORTING ${kind} ${r.from}→${r.to}`;
    return { texts: [`${head}, back to ${r.from}: ${r.done}/${r.pairs} pairs back (${percent}%)${age}${by}`, `${head}: ${percent}% back${age}`, `${head}`], tone: 'warn' };
  }
  const head = `⇅ ${kind} ${r.from}→${r.to}`;
  return { texts: [`${head}: ${r.done}/${r.pairs} pairs (${percent}%)${age}${by}`, `${head}: ${r.done}/${r.pairs} pairs (${percent}%)${age}`, `${head} ${percent}%`], tone: 'accent' };
}

/** First on the balancer's line (which says it waits for the transition meanwhile); the last field to give way. */
function reshardField(view: ClusterView): Field[] {
  const t = reshardTexts(view);
  if (t === null) return [];
  const [full, ...shorter] = t.texts.map((text): Form => [run(text, t.tone)]);
  // The author gives way before the pairs; the kind, the counts and the percentage stay.
  return [plain(0, full!, shorter.map((form, i) => at(2 - i, form)))];
}

/** The header's fields, line by line, before fitting. */
export function headerFields(view: ClusterView, connection: Connection, flags: HeaderFlags): Field[][] {
  return [line1(view, connection, flags), line2(view, flags.metricsSource ?? { kind: 'scrape' }), line3(view)];
}

/** Addresses, the pause's author and reason, and the balancer's reason come from etcd: each is shown printable. */
export function headerLines(view: ClusterView, connection: Connection, flags: HeaderFlags, theme: Theme, width = Number.POSITIVE_INFINITY): string[] {
  return headerFields(view, connection, flags).map((fields) => renderFields(fields, width, theme));
}
