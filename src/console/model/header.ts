/**
 * The three header lines, pure: where the console is connected and whether its picture is current, the cluster in
 * numbers, and what the balancer does and why. Trouble (stale view, dead leader, stuck shards, unreachable metrics)
 * is spelled out in words, so it reads the same without colour.
 */
import { cannotFollowMatters } from '../../core/planner/countFollowers.js';
import { printable } from '../../core/text/printable.js';
import { type ClusterView, malformedIn } from '../../core/view/index.js';
import type { WatcherStatus } from '../../edge/etcd/watcher.js';
import { compactAge } from '../text.js';
import type { Theme } from '../theme.js';

/** The etcd connection as the header shows it. */
export interface Connection {
  readonly endpoints: readonly string[];
  readonly status: WatcherStatus;
  /** Times the watch was lost (reconnecting or stale) since the console started. */
  readonly reconnects: number;
}

export interface HeaderFlags {
  readonly frozen: boolean;
  /** Why writes are off (`--read-only`, stdin not a terminal), or null when they are on. */
  readonly readOnly: string | null;
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
    countText(view),
  ].join(SEP);

  const alive = view.nodes.filter((n) => n.alive);
  const scraped = alive.filter((n) => n.metrics.kind === 'ok').length;
  const metricsTrouble = alive.filter((n) => n.metrics.kind === 'unreachable' || n.metrics.kind === 'malformed').length;
  const c = view.counts;
  const im = view.imbalance;
  // Forged or broken keys are ignored by the cluster; the header says so (`status` lists them).
  const rejected = malformedIn(view.malformed, snap.prefix, ['nodes']).length;
  // The most alarming figures first, so an 80-column terminal still shows the stuck count where the line is cut.
  const line2 = [
    `nodes ${alive.length} alive${view.nodes.length > alive.length ? theme.tone(` (${view.nodes.length - alive.length} dead)`, 'bad') : ''}` +
      (rejected > 0 ? theme.tone(` (${rejected} rejected)`, 'bad') : ''),
    c.owned === c.total ? `shards ${c.owned}/${c.total} owned` : theme.tone(`shards ${c.owned}/${c.total} owned`, 'warn'),
    c.stuck > 0 ? theme.tone(`stuck ${c.stuck}`, 'bad') : 'stuck 0',
    ...(view.malformed.length > 0 ? [theme.tone(`malformed ${view.malformed.length} keys`, 'bad')] : []),
    ...(cannotFollowMatters(snap, view.cannotFollow) ? [theme.tone(`cannot follow count ${view.cannotFollow.length}`, 'bad')] : []),
    // Upstream gates and nodes call objects over their gRPC protocol: a goverse-node's shards are out of their reach.
    ...(view.upstream.unreachableShards > 0 ? [theme.tone(`unreachable from upstream ${view.upstream.unreachableShards}`, 'warn')] : []),
    metricsTrouble > 0 ? theme.tone(`metrics ${scraped}/${alive.length} (${metricsTrouble} unreachable)`, 'bad') : `metrics ${scraped}/${alive.length}`,
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
  const reshard = reshardText(view, theme);
  const line3 = `${reshard === null ? '' : `${reshard}${SEP}`}${pause}balancer ${theme.tone(b.state, tone)}${b.source === 'computed' ? ' (computed)' : ''}: ${printable(b.reason)}`;
  // Lines longer than the terminal are cut by Ink (wrap="truncate"), which keeps escape codes intact.
  return [line1, line2, line3];
}

/** The count in force; during a transition with where it goes. */
export function countText(view: ClusterView): string {
  const r = view.reshard;
  return r === null ? `${view.snapshot.layout.count} shards` : `${r.from} shards → ${r.to}`;
}

/**
 * The transition under way, first on the balancer's line (which says `paused: resharding` meanwhile): kind, counts,
 * pairs done of all and age; while aborting, the pairs back where they started. Null at a stable count.
 */
export function reshardText(view: ClusterView, theme: Theme): string | null {
  const r = view.reshard;
  if (r === null) return null;
  const percent = r.pairs === 0 ? 100 : Math.floor((r.done * 100) / r.pairs);
  const age = r.startedAt > 0 ? ` ${compactAge(Math.max(0, view.now - r.startedAt))}` : '';
  const by = r.by === '' ? '' : ` by ${printable(r.by)}`;
  if (r.state === 'aborting') {
    return theme.tone(`⇅ ABORTING ${r.kind.toUpperCase()} ${r.from}→${r.to}, back to ${r.from}: ${r.done}/${r.pairs} pairs back (${percent}%)${age}${by}`, 'warn');
  }
  return theme.tone(`⇅ ${r.kind.toUpperCase()} ${r.from}→${r.to}: ${r.done}/${r.pairs} pairs (${percent}%)${age}${by}`, 'accent');
}
