/**
 * Contents of the dialogs that replace the panes for a moment, pure: help for the focused pane, details of a shard
 * (with its recent history), node or history entry, the node picker of a reassign, and the confirmation of a write
 * with its exact changes.
 */
import { formatShardList } from '../../core/operations/shardList.js';
import type { Migration } from '../../core/planner/stuck.js';
import { counted } from '../../core/text/plural.js';
import { printable } from '../../core/text/printable.js';
import { shardMigration, shardRow, type ClusterView } from '../../core/view/index.js';
import { bindingsFor, PANE_TITLES, type PaneId } from '../keys.js';
import { compactAge, compactMs, compactNumber, fit, migrationAgeText } from '../text.js';
import type { Theme } from '../theme.js';
import { PALETTE } from './palette.js';
import { type HistoryEntry, touchesShards } from '../../core/history/entry.js';
import { movesText, reasonText, shardsText } from '../../core/history/entryText.js';
import { formatShardRanges } from '../../core/history/shardRanges.js';
import type { HistoryView } from './rebalancePane.js';
import { MARK_GLYPH } from './shardGrid.js';
import { type Overlay, type PendingWrite, pinnableReassign, type Subject } from './ui.js';
import { forceAdvice, skipText } from './writes.js';

export interface OverlayContent {
  /** Plain text, made printable when the frame clips it. */
  readonly title: string;
  readonly lines: readonly string[];
  /** Shown under the lines: what the keys do in this dialog. */
  readonly footer: string;
}

const PANE_HELP: Readonly<Record<PaneId, readonly string[]>> = {
  nodes: [
    'One row per node. ST: U up / D down, then L leader, D draining, S stopping, N normal.',
    'TGT/IDEAL: shards targeted at the node / its weighted ideal share. OWN: shards it owns.',
    'LKp99: shard lock wait p99 since the last scrape. WL: write locks held. MET: metrics ok, down, bad, - (none).',
  ],
  shards: [
    'Every shard, one cell per shard or per run of shards (the most urgent state of the run shows).',
    'Lower-case letter: owner (legend below the map, colours tell nodes apart); upper case: pinned.',
    `${MARK_GLYPH.unclaimed} unclaimed  ${MARK_GLYPH.migrating} migrating  ${MARK_GLYPH.orphaned} orphaned (dead target or owner)  ${MARK_GLYPH.stuck} stuck (past the timeout)  ${MARK_GLYPH['no-target']} no target`,
    `During a shard-count change the map spans the larger count: ${MARK_GLYPH.absent} is a high shard without a key (not split yet, or merged), served by its low shard; they form the last band.`,
    'm switches to the objects or calls heatmap: . cold  : - = + * # % @ hot (log scale).',
    'The filter dims shards that do not match an ID, node, state, "pinned" or "stuck".',
  ],
  stuck: [
    'Shards in migration past the stuck timeout, oldest first. STATE * = pinned (never repaired automatically).',
    'Title: stuck of unsettled (TargetNode ≠ CurrentNode, or pinned to a dead node; the header counts only migrating).',
  ],
  locks: ['Top: per node lock figures, worst wait p99 first. Below: the most contended shards over every node.'],
  rebalance: [
    'Why the balancer acts or not, the pause and the imbalance it compares; then the cluster history: shards moved per',
    'minute, and every leader decision, skip-reason change, stuck episode and operator action, newest first (enter: all',
    'of an entry). OUTCOME observed: moves seen here under an upstream leader, which records nothing (not stored).',
  ],
};

export function helpContent(pane: PaneId, readOnly: boolean): OverlayContent {
  const keys = bindingsFor(pane, readOnly).map((b) => `${fit(b.label, 9)} ${b.description}`);
  const commands = PALETTE.filter((e) => !(readOnly && e.write)).map((e) => `${fit(e.usage, 26)} ${e.description}`);
  return {
    title: `Help: ${PANE_TITLES[pane]}${readOnly ? ' (read-only: write keys hidden)' : ''}`,
    lines: [...PANE_HELP[pane], '', 'Keys', ...keys, '', 'Commands (:)', ...commands],
    footer: 'j/k scroll · esc or ? close',
  };
}

/** Details of a shard, node or history entry; shard and node details offer their pane's write keys unless read-only. */
export function detailsContent(subject: Subject, view: ClusterView, history: HistoryView, readOnly: boolean): OverlayContent {
  switch (subject.kind) {
    case 'shard':
      return shardDetails(subject.id, view, history, readOnly);
    case 'node':
      return nodeDetails(subject.address, view, readOnly);
    case 'entry':
      return entryDetails(subject.key, view, history);
  }
}

/** A details line; values quote etcd and the nodes, so they are shown printable. */
const field = (name: string, value: string): string => `${fit(name, 14)} ${printable(value)}`;

/** How many of a shard's history entries its details show, newest first. */
const SHARD_HISTORY = 8;

function shardDetails(id: number, view: ClusterView, history: HistoryView, readOnly: boolean): OverlayContent {
  const r = shardRow(view, id);
  const migration = view.snapshot.migrations.get(id);
  const request = view.snapshot.releaseRequests.get(id);
  const lines = [
    field('key', `${view.snapshot.prefix}/shard/${id}`),
    field('value', r.raw === null ? '(absent)' : JSON.stringify(r.raw)),
    field('ModRevision', String(r.modRevision)),
    field('state', `${r.state}${r.pinned ? ', pinned' : ''}${r.stuck ? ', STUCK' : ''}`),
    field('target', r.target || '-'),
    field('current', r.current || '-'),
    field('flags', r.flags.length === 0 ? '-' : r.flags.join(', ')),
    field('migrating for', migratingFor(shardMigration(view, id))),
    field('stuck reason', r.reason ?? '-'),
    field('migration', migration === undefined ? '-' : `since ${new Date(migration.since).toISOString()} from ${migration.from || '-'} to ${migration.target}`),
    field('release asked', request === undefined ? '-' : `of ${request.owner} by ${request.by} at ${new Date(request.at).toISOString()}`),
    field('objects', compactNumber(r.objects)),
    field('calls/s', compactNumber(r.calls)),
    ...(r.warnings.length > 0 ? [field('warnings', r.warnings.join('; '))] : []),
    ...shardHistory(id, view, history),
  ];
  return { title: `Shard ${id}`, lines, footer: readOnly ? 'esc close' : 'p pin/unpin · r reassign · x release · esc close' };
}

/** How long a shard has been in migration, and what that rests on. */
function migratingFor(m: Migration | undefined): string {
  if (m === undefined) return '-';
  switch (m.ageSource) {
    case 'record':
      return `${migrationAgeText(m)} (migration record)`;
    case 'first-seen':
      return `${migrationAgeText(m)} (seen starting)`;
    case 'unknown':
      return `unknown (no migration record)${m.seenForMs < 1000 ? '' : `, seen for ${compactAge(m.seenForMs)}`}`;
  }
}

function nodeDetails(address: string, view: ClusterView, readOnly: boolean): OverlayContent {
  const i = view.nodeIndex.get(address);
  const n = i === undefined ? undefined : view.nodes[i];
  if (n === undefined) return { title: `Node ${address}`, lines: ['(no longer in the view)'], footer: 'esc close' };
  const m = n.metrics;
  const metrics =
    m.kind === 'ok' || m.kind === 'stale'
      ? `${m.kind === 'ok' ? 'ok' : 'STALE'}, read ${compactAge(view.now - m.atMs)} ago, ${m.url}`
      : m.kind === 'none'
        ? `none: ${m.reason}`
        : `${m.kind}: ${m.reason} (${m.url})`;
  const lines = [
    field('address', n.address),
    field('node ID', n.nodeId ?? '-'),
    field('version', n.version ?? '-'),
    field('alive', n.alive ? 'yes' : 'NO'),
    field('leader', n.leader ? 'yes' : 'no'),
    field('ready', n.ready === null ? '-' : n.ready ? 'yes' : 'no'),
    field('status', n.status),
    field('weight', String(n.weight)),
    field('shards', `target ${n.shardsTarget}, ideal ${n.ideal.toFixed(1)}, owned ${n.shardsOwned}, pinned ${n.shardsPinned}`),
    field('objects', compactNumber(n.objects)),
    field('calls/s', compactNumber(n.callRate)),
    field('cpu', n.cpu === null ? '-' : `${(n.cpu * 100).toFixed(0)}% of a core`),
    field('memory', n.rssBytes === null ? '-' : `${Math.round(n.rssBytes / 1048576)} MB`),
    field('locks', `acquired ${compactNumber(n.lockAcquisitions)}, wait p99 ${compactMs(n.lockWaitP99Ms)}, write held ${compactNumber(n.writeLocksHeld)}, timeouts ${compactNumber(n.lockTimeouts)}`),
    field('started', n.startedAt === null ? '-' : `${new Date(n.startedAt).toISOString()} (${compactAge(view.now - n.startedAt)} ago)`),
    field('metrics', metrics),
  ];
  return { title: `Node ${address}`, lines, footer: readOnly ? 'esc close' : 'd drain/undrain · esc close' };
}

/** The shard's own recent history, newest first. */
function shardHistory(id: number, view: ClusterView, history: HistoryView): string[] {
  const mine: HistoryEntry[] = [];
  for (let i = history.entries.length - 1; i >= 0 && mine.length < SHARD_HISTORY; i--) {
    const e = history.entries[i]!;
    if (touchesShards(e, [[id, id]])) mine.push(e);
  }
  if (mine.length === 0) return [field('history', '(none kept)')];
  return [
    field('history', `${mine.length === SHARD_HISTORY ? `last ${SHARD_HISTORY}` : mine.length} entries, newest first`),
    ...mine.map((e) => `  ${fit(compactAge(view.now - e.at), 6, 'right')}  ${fit(e.action, 9)} ${fit(e.actor, 18)} ${printable(reasonText(e))}`),
  ];
}

function entryDetails(key: string, view: ClusterView, history: HistoryView): OverlayContent {
  const e = history.entries.find((x) => x.id === key);
  if (e === undefined) return { title: 'History entry', lines: ['(no longer in the history)'], footer: 'esc close' };
  const lines = [
    field('at', `${new Date(e.at).toISOString()} (${compactAge(view.now - e.at)} ago)`),
    field('key', e.source === 'observed' ? '(observed here, not stored)' : `${view.snapshot.prefix}/history/${e.id}`),
    field('actor', e.actor),
    field('source', e.source || '-'),
    field('action', e.action),
    field('outcome', e.outcome || '-'),
    field('node', e.node ?? '-'),
    field('shards', e.shardCount === 0 ? '-' : shardsText(e, 60)),
    field('reason', reasonText(e)),
    ...(e.shards.length > 0 ? [field('shard list', formatShardRanges(e.shards))] : []),
    ...(e.moves.length > 0 ? [field('moves', movesText(e, 200))] : []),
    ...e.moves.map((m) => `  ${printable(m.from || '-')} → ${printable(m.to || '-')} ×${m.count}: ${formatShardRanges(m.shards)}`),
  ];
  return { title: `History: ${printable(e.action)}`, lines, footer: 'j/k scroll · esc close' };
}

export function pickContent(overlay: Extract<Overlay, { kind: 'pick' }>, view: ClusterView, theme: Theme): OverlayContent {
  const lines = overlay.options.map((o, i) => {
    const label = o === null ? 'best node (weighted rendezvous, as the leader would choose)' : printable(nodeOption(o, view));
    return i === overlay.index ? theme.inverse(`▶ ${label}`) : `  ${label}`;
  });
  return { title: `Reassign ${overlay.shards.length === 1 ? 'shard' : 'shards'} ${overlay.shards.join(', ')} to`, lines, footer: 'j/k choose · enter next · esc cancel' };
}

function nodeOption(address: string, view: ClusterView): string {
  const n = view.nodes[view.nodeIndex.get(address) ?? -1];
  return n === undefined ? address : `${address}  (targets ${n.shardsTarget}/${Math.round(n.ideal)}, owns ${n.shardsOwned})`;
}

/**
 * The balancer's outlook in the console's words: which of the shards it would move back, and the keys that keep them
 * (p pins them in the same write, P pauses rebalancing first).
 */
function outlookLines(pending: PendingWrite): string[] {
  const o = pending.outlook;
  if (o === null || o === undefined || o.movedBack.length === 0) return [];
  const when = o.pausedUntil === null ? 'at once' : 'when the pause ends';
  const what = o.movedBack.length === 1 ? `shard ${o.movedBack[0]}` : `${counted(o.movedBack.length, 'shard')} (${formatShardList(o.movedBack)})`;
  const lines = [`the balancer (${o.strategy}) would move ${what} back ${when}: the cluster is near its imbalance threshold`];
  if (pinnableReassign(pending) !== null) lines.push(`p: pin ${o.movedBack.length === 1 ? 'it' : 'them'} in the same write · P: pause rebalancing first`);
  return lines;
}

/**
 * The confirmation: the balancer's outlook when it would undo the write, every change with its key, old and new value
 * and the ModRevision compared, then what is skipped.
 */
export function confirmContent(pending: PendingWrite, choice: 'cancel' | 'confirm', theme: Theme, maxLines: number): OverlayContent {
  const { plan } = pending;
  const warning = outlookLines(pending).map((l) => theme.tone(l, 'warn'));
  const changes: string[] = [];
  // Keys and values come from etcd; JSON.stringify escapes C0 controls only.
  const fmt = (v: string | null): string => (v === null ? '(absent)' : printable(JSON.stringify(v)));
  // Records first: a drain's record is the headline, its retargets may be hundreds.
  for (const c of plan.recordChanges) {
    changes.push(`key ${printable(c.key)}  (ModRevision ${c.expectedModRevision})`, `  old ${fmt(c.old)}`, `  new ${c.new === null ? '(delete)' : fmt(c.new)}`);
  }
  for (const c of plan.shardChanges) {
    changes.push(`key ${printable(c.key)}  (ModRevision ${c.expectedModRevision})`, `  old ${fmt(c.old)}`, `  new ${fmt(c.new)}`);
  }
  const force = forceAdvice(plan);
  const skipped = [...plan.skipped.map((s) => `skipped ${skipText(s)}`), ...(force === null ? [] : [force])].map((l) => theme.tone(printable(l), 'warn'));
  const buttons = `${choice === 'cancel' ? theme.inverse('[ Cancel ]') : '[ Cancel ]'}   ${choice === 'confirm' ? theme.inverse('[ Confirm ]') : '[ Confirm ]'}`;
  // The buttons must always show: long plans (a drain moves hundreds of shards) are cut with a count.
  const room = Math.max(1, maxLines - 2);
  let body = [...warning, ...changes, ...skipped];
  if (body.length > room) {
    const hidden = body.length - (room - 1);
    body = [...body.slice(0, room - 1), theme.tone(`… ${counted(hidden, 'more line')} (${counted(plan.shardChanges.length + plan.recordChanges.length, 'change')})`, 'muted')];
  }
  const offer = pinnableReassign(pending) === null ? '' : ' · p pin · P pause';
  return { title: `Confirm: ${plan.summary}`, lines: [...body, '', buttons], footer: `default Cancel · ←/→ choose · enter · y confirm${offer} · esc cancel` };
}
