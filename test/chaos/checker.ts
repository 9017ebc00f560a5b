/**
 * The chaos suite's external checker: a pure function of the recorded history (history.ts). It trusts nothing the
 * nodes say about themselves beyond their lifecycle event logs, and verifies:
 * - single activation: no object active in two incarnations at overlapping times;
 * - no lost acknowledged work: every acknowledged increment is in the final counter value, no two acknowledged
 *   increments saw the same value, an increment sent after another was acknowledged saw a higher value, and no
 *   increment was applied twice (the final value is at most the acknowledged plus the possibly applied ones);
 * - pinned shards never moved except by an operator's write;
 * - every shard ends owned by an alive node (target = current);
 * - every fault recovered within its bound;
 * - under hostile writes the cluster wrote at most HOSTILE_WRITE_BOUND keys a second (load reports aside);
 * - the cluster history stayed within its bounds (historyBound.ts).
 * Each violation carries a readable history: the events around it, relative to the run's start.
 */
import { isPinned, parseShardValue, type ShardValue } from '../../src/core/keyspace/shardValue.js';
import { checkHistoryBound } from './historyBound.js';
import type { ChaosHistory, FaultRecord, HostileEpisode, Incarnation, IncrementRecord, LifecycleEvent, ShardChange } from './history.js';

export type ViolationKind =
  | 'double-activation'
  | 'lost-increment'
  | 'duplicate-increment'
  | 'stale-increment'
  | 'unread-counter'
  | 'pinned-moved'
  | 'final-owner'
  | 'recovery-bound'
  | 'not-recovered'
  | 'write-rate'
  | 'history-bound';

export interface Violation {
  readonly kind: ViolationKind;
  readonly message: string;
  /** Timeline lines around the violation, oldest first. */
  readonly history: readonly string[];
}

/** At most this many violations of one kind per object, counter or shard: the first ones explain the rest. */
const MAX_PER_SUBJECT = 2;
/** Events this close to a violation go into its history. */
const CONTEXT_MS = 3000;
const MAX_CONTEXT_LINES = 60;

export function checkHistory(h: ChaosHistory): Violation[] {
  const timeline = new Timeline(h);
  return [
    ...checkSingleActivation(h, timeline),
    ...checkIncrements(h, timeline),
    ...checkPins(h, timeline),
    ...checkFinalOwners(h),
    ...checkRecovery(h, timeline),
    ...checkWriteRate(h, timeline),
    ...checkHistoryBound(h.clusterHistory),
  ];
}

/** A violation as printed: kind, message, then the indented history. */
export function formatViolation(v: Violation): string {
  return [`VIOLATION ${v.kind}: ${v.message}`, ...v.history.map((l) => `    ${l}`)].join('\n');
}

// ---- single activation ---------------------------------------------------------------------------------------

interface Interval {
  readonly holder: Incarnation;
  readonly start: number;
  /** Infinity: still active at the end of the run. */
  readonly end: number;
  readonly epoch: number;
}

function activationIntervals(incarnations: readonly Incarnation[]): Map<string, Interval[]> {
  const byObject = new Map<string, Interval[]>();
  const add = (key: string, interval: Interval): void => {
    let list = byObject.get(key);
    if (list === undefined) byObject.set(key, (list = []));
    list.push(interval);
  };
  for (const inc of incarnations) {
    const open = new Map<string, LifecycleEvent>();
    for (const ev of inc.events) {
      const key = objectKey(ev);
      if (ev.event === 'activated') {
        // A second activation without a deactivation in between: keep the earlier start (the longer interval).
        if (!open.has(key)) open.set(key, ev);
        continue;
      }
      const started = open.get(key);
      if (started === undefined) continue;
      open.delete(key);
      add(key, { holder: inc, start: started.time, end: Math.max(started.time, ev.time), epoch: started.epoch });
    }
    for (const [key, started] of open) add(key, { holder: inc, start: started.time, end: inc.endedAt ?? Infinity, epoch: started.epoch });
  }
  return byObject;
}

function checkSingleActivation(h: ChaosHistory, timeline: Timeline): Violation[] {
  const out: Violation[] = [];
  for (const [key, intervals] of activationIntervals(h.incarnations)) {
    intervals.sort((a, b) => a.start - b.start);
    let found = 0;
    for (let i = 0; i < intervals.length && found < MAX_PER_SUBJECT; i++) {
      const a = intervals[i]!;
      for (let j = i + 1; j < intervals.length && intervals[j]!.start < a.end && found < MAX_PER_SUBJECT; j++) {
        const b = intervals[j]!;
        if (b.holder === a.holder) continue;
        found++;
        const overlapEnd = Math.min(a.end, b.end);
        const shard = shardOfObject(h, key);
        out.push({
          kind: 'double-activation',
          message:
            `${key} was active on ${a.holder.name} (${a.holder.address}, epoch ${a.epoch}) and on ${b.holder.name} ` +
            `(${b.holder.address}, epoch ${b.epoch}) at the same time, ${timeline.rel(b.start)} to ` +
            `${overlapEnd === Infinity ? 'the end of the run' : timeline.rel(overlapEnd)}`,
          history: timeline.around([a.start, b.start], { object: key, shard, incarnations: [a.holder, b.holder] }),
        });
      }
    }
  }
  return out;
}

// ---- acknowledged work ---------------------------------------------------------------------------------------

function checkIncrements(h: ChaosHistory, timeline: Timeline): Violation[] {
  const out: Violation[] = [];
  const byCounter = new Map<string, IncrementRecord[]>();
  for (const r of h.increments) {
    let list = byCounter.get(r.counter);
    if (list === undefined) byCounter.set(r.counter, (list = []));
    list.push(r);
  }
  for (const [counter, records] of byCounter) {
    const final = h.final.counters.get(counter);
    const key = `Counter/${counter}`;
    const context = (times: number[]): string[] => timeline.around(times, { object: key, shard: shardOfObject(h, key), counter });
    if (final === undefined || final === null) {
      out.push({ kind: 'unread-counter', message: `counter ${counter} could not be read at the end`, history: [] });
      continue;
    }
    const acked = records.filter((r): r is IncrementRecord & { ackedAt: number; value: number } => r.ackedAt !== null && r.value !== null);
    const subject: Violation[] = [];
    // Every applied increment of 1 produced its own value; two acknowledgements with one value mean one was lost.
    const byValue = new Map<number, IncrementRecord>();
    for (const r of acked) {
      const other = byValue.get(r.value);
      if (other !== undefined && other.requestId !== r.requestId) {
        subject.push({
          kind: 'lost-increment',
          message: `counter ${counter}: acknowledged increments ${other.requestId} and ${r.requestId} both returned ${r.value}; one overwrote the other`,
          history: context([other.ackedAt ?? other.sentAt, r.ackedAt]),
        });
      }
      byValue.set(r.value, r);
      if (r.value > final) {
        subject.push({
          kind: 'lost-increment',
          message: `counter ${counter}: increment ${r.requestId} was acknowledged with value ${r.value} but the final value is ${final}`,
          history: context([r.ackedAt]),
        });
      }
    }
    const maybe = records.filter((r) => r.ackedAt === null && r.maybeApplied).length;
    if (final > acked.length + maybe) {
      subject.push({
        kind: 'duplicate-increment',
        message:
          `counter ${counter}: final value ${final} exceeds the ${acked.length} acknowledged plus ${maybe} possibly applied ` +
          `increments: some increment was applied twice, or one refused with an error was applied`,
        history: context(acked.slice(-1).map((r) => r.ackedAt)),
      });
    }
    subject.push(...staleIncrements(counter, acked, context));
    out.push(...firstPerKind(subject));
  }
  return out;
}

/** Real-time order: an increment sent after another was acknowledged must see a higher value. */
function staleIncrements(
  counter: string,
  acked: readonly (IncrementRecord & { ackedAt: number; value: number })[],
  context: (times: number[]) => string[],
): Violation[] {
  const out: Violation[] = [];
  const byAck = [...acked].sort((a, b) => a.ackedAt - b.ackedAt);
  const bySend = [...acked].sort((a, b) => a.sentAt - b.sentAt);
  let next = 0;
  let best: (typeof acked)[number] | null = null;
  for (const r of bySend) {
    while (next < byAck.length && byAck[next]!.ackedAt < r.sentAt) {
      const done = byAck[next++]!;
      if (best === null || done.value > best.value) best = done;
    }
    if (best !== null && r.value <= best.value) {
      out.push({
        kind: 'stale-increment',
        message:
          `counter ${counter}: increment ${r.requestId} was sent after ${best.requestId} was acknowledged with ${best.value}, ` +
          `yet it returned ${r.value}: it was applied to an older copy of the counter`,
        history: context([best.ackedAt, r.sentAt]),
      });
    }
  }
  return out;
}

// ---- pinned shards ---------------------------------------------------------------------------------------------

function checkPins(h: ChaosHistory, timeline: Timeline): Violation[] {
  const operator = new Set(h.operatorWrites.map((w) => `${w.shard}\u0000${w.value}`));
  const byShard = new Map<number, ShardChange[]>();
  for (const c of h.shardChanges) {
    let list = byShard.get(c.shard);
    if (list === undefined) byShard.set(c.shard, (list = []));
    list.push(c);
  }
  const out: Violation[] = [];
  for (const [shard, changes] of byShard) {
    changes.sort((a, b) => a.revision - b.revision);
    let found = 0;
    for (const c of changes) {
      if (found >= MAX_PER_SUBJECT) break;
      if (c.before === null || !isPinned(parse(c.before))) continue;
      if (c.after !== null && operator.has(`${shard}\u0000${c.after}`)) continue;
      if (c.after === null && mergedKeepingPin(byShard, c)) continue;
      const why = pinnedMoveProblem(parse(c.before), c.after === null ? null : parse(c.after));
      if (why === null) continue;
      found++;
      out.push({
        kind: 'pinned-moved',
        message: `pinned shard ${shard} ${why} at revision ${c.revision}, ${timeline.rel(c.time)} ("${c.before}" -> "${c.after ?? '(deleted)'}"), not by an operator`,
        history: timeline.around([c.time], { shard }),
      });
    }
  }
  return out;
}

/**
 * A merge (docs/RESHARDING.md) deletes the high shard `s + N` of a pair and re-puts the low shard `s` in the same
 * transaction; the pin of the high shard must carry over to the low one, on the same node. N is the largest power
 * of two not above the high shard's ID, since `s < N`.
 */
function mergedKeepingPin(byShard: ReadonlyMap<number, readonly ShardChange[]>, deletion: ShardChange): boolean {
  if (deletion.shard < 1 || deletion.before === null) return false;
  const low = deletion.shard - 2 ** Math.floor(Math.log2(deletion.shard));
  const target = parse(deletion.before).target;
  return (byShard.get(low) ?? []).some((c) => c.revision === deletion.revision && c.after !== null && isPinned(parse(c.after)) && parse(c.after).target === target);
}

/** What is wrong with a non-operator change of a pinned shard, or null. Claims and releases toward its target are fine. */
function pinnedMoveProblem(before: ShardValue, after: ShardValue | null): string | null {
  if (after === null) return 'was deleted';
  if (!isPinned(after)) return 'was unpinned';
  if (after.target !== before.target) return `was retargeted from ${before.target || '(none)'} to ${after.target || '(none)'}`;
  if (after.current !== '' && after.current !== before.current && after.current !== after.target) {
    return `was claimed by ${after.current}, not its target ${after.target}`;
  }
  return null;
}

// ---- final state -------------------------------------------------------------------------------------------------

function checkFinalOwners(h: ChaosHistory): Violation[] {
  const alive = new Set(h.final.aliveNodes);
  const problems: string[] = [];
  h.final.shards.forEach((raw, shard) => {
    if (raw === null) {
      problems.push(`shard ${shard}: no key`);
      return;
    }
    const v = parse(raw);
    if (v.current === '' || !alive.has(v.current)) problems.push(`shard ${shard}: "${raw}" (owner not alive)`);
    else if (v.target !== v.current) problems.push(`shard ${shard}: "${raw}" (still migrating)`);
  });
  if (problems.length === 0) return [];
  return [
    {
      kind: 'final-owner',
      message: `${problems.length} shards do not end owned by an alive node (alive: ${[...alive].sort().join(', ') || 'none'})`,
      history: problems.slice(0, MAX_CONTEXT_LINES),
    },
  ];
}

// ---- recovery ----------------------------------------------------------------------------------------------------

function checkRecovery(h: ChaosHistory, timeline: Timeline): Violation[] {
  const out: Violation[] = [];
  for (const f of h.faults) {
    if (f.recoveredAt === null) {
      out.push({
        kind: 'not-recovered',
        message: `${f.kind} (${f.detail}) at ${timeline.rel(f.startedAt)}: the cluster never became healthy again (bound ${f.boundMs} ms)`,
        history: timeline.around([f.measuredFrom], {}),
      });
    } else if (f.recoveredAt - f.measuredFrom > f.boundMs) {
      out.push({
        kind: 'recovery-bound',
        message: `${f.kind} (${f.detail}) at ${timeline.rel(f.startedAt)}: recovered after ${f.recoveredAt - f.measuredFrom} ms, bound ${f.boundMs} ms`,
        history: timeline.around([f.measuredFrom, f.recoveredAt], {}),
      });
    }
  }
  return out;
}

// ---- writes under hostile input -----------------------------------------------------------------------------

/** What the cluster may write per second, on average over a hostile episode and its recovery (load reports aside). */
export const HOSTILE_WRITE_BOUND = 20;

export function hostileWriteRate(e: HostileEpisode): number {
  return e.writes / Math.max(0.001, (e.endedAt - e.startedAt) / 1000);
}

function checkWriteRate(h: ChaosHistory, timeline: Timeline): Violation[] {
  return h.hostile
    .filter((e) => hostileWriteRate(e) > HOSTILE_WRITE_BOUND)
    .map((e) => ({
      kind: 'write-rate' as const,
      message:
        `hostile writes at ${timeline.rel(e.startedAt)}: the cluster wrote ${e.writes} keys in ${((e.endedAt - e.startedAt) / 1000).toFixed(1)} s ` +
        `(${hostileWriteRate(e).toFixed(1)}/s, bound ${HOSTILE_WRITE_BOUND}/s): ${Object.entries(e.byDir).map(([d, n]) => `${d} ${n}`).join(', ')}`,
      history: timeline.around([e.startedAt, e.endedAt], {}),
    }));
}

/** How much the checker had to judge: a run whose history is nearly empty proves little. */
export function coverage(h: ChaosHistory): string {
  const intervals = [...activationIntervals(h.incarnations).values()];
  const activations = intervals.reduce((n, list) => n + list.length, 0);
  const acked = h.increments.filter((r) => r.ackedAt !== null).length;
  // Acknowledged after an attempt that may have been applied: the request-ID deduplication was put to work.
  const retriedBlind = h.increments.filter((r) => r.ackedAt !== null && r.maybeApplied).length;
  const counters = new Set(h.increments.map((r) => r.counter)).size;
  const pinnedChanges = h.shardChanges.filter((c) => c.before !== null && isPinned(parse(c.before))).length;
  return (
    `${activations} activations of ${intervals.length} objects in ${h.incarnations.length} incarnations, ` +
    `${acked} acknowledged increments on ${counters} counters (${retriedBlind} after an unanswered attempt), ` +
    `${h.shardChanges.length} shard changes ` +
    `(${pinnedChanges} of pinned shards), ${h.faults.length} recoveries` +
    (h.hostile.length === 0 ? '' : `, ${h.hostile.length} hostile episodes (worst ${Math.max(...h.hostile.map(hostileWriteRate)).toFixed(1)} writes/s)`)
  );
}

/** Worst recovery time per fault kind (only faults that recovered). */
export function worstRecovery(faults: readonly FaultRecord[]): Record<string, number> {
  const worst: Record<string, number> = {};
  for (const f of faults) {
    if (f.recoveredAt === null) continue;
    const ms = f.recoveredAt - f.measuredFrom;
    worst[f.kind] = Math.max(worst[f.kind] ?? 0, ms);
  }
  return worst;
}

// ---- readable history --------------------------------------------------------------------------------------------

interface Focus {
  /** `Type/id`: its lifecycle events. */
  readonly object?: string;
  readonly shard?: number | null;
  /** Its acknowledged increments. */
  readonly counter?: string;
  /** Their start and end. */
  readonly incarnations?: readonly Incarnation[];
}

/** Builds the history of a violation: the events about its subject within CONTEXT_MS of its moments, plus faults. */
class Timeline {
  constructor(private readonly h: ChaosHistory) {}

  rel(time: number): string {
    const ms = time - this.h.startedAt;
    return `${ms < 0 ? '-' : '+'}${(Math.abs(ms) / 1000).toFixed(3)}s`;
  }

  around(moments: readonly number[], focus: Focus): string[] {
    const near = (t: number): boolean => moments.some((m) => Math.abs(t - m) <= CONTEXT_MS);
    const lines: { time: number; text: string }[] = [];
    const push = (time: number, text: string): void => {
      lines.push({ time, text: `${this.rel(time).padStart(10)}  ${text}` });
    };
    for (const inc of this.h.incarnations) {
      const focused = focus.incarnations?.includes(inc) === true;
      if (focused || near(inc.startedAt)) push(inc.startedAt, `${inc.name} (${inc.address}) started`);
      if (inc.endedAt !== null && (focused || near(inc.endedAt))) push(inc.endedAt, `${inc.name} (${inc.address}) exited`);
      if (focus.object === undefined) continue;
      for (const ev of inc.events) {
        if (objectKey(ev) !== focus.object || !(near(ev.time) || moments.includes(ev.time))) continue;
        push(ev.time, `${inc.name} ${ev.event} ${focus.object} (shard ${ev.shard ?? '-'}, epoch ${ev.epoch}, ${ev.reason})`);
      }
    }
    if (focus.shard !== undefined && focus.shard !== null) {
      for (const c of this.h.shardChanges) {
        if (c.shard === focus.shard && near(c.time)) push(c.time, `shard ${c.shard} rev ${c.revision}: "${c.before ?? '(absent)'}" -> "${c.after ?? '(deleted)'}"`);
      }
      for (const w of this.h.operatorWrites) {
        if (w.shard === focus.shard && near(w.time)) push(w.time, `operator ${w.action} wrote shard ${w.shard} = "${w.value}"`);
      }
    }
    if (focus.counter !== undefined) {
      for (const r of this.h.increments) {
        if (r.counter !== focus.counter) continue;
        if (r.ackedAt !== null && near(r.ackedAt)) push(r.ackedAt, `increment ${r.requestId} acknowledged: value ${r.value} (sent ${this.rel(r.sentAt)})`);
        else if (r.ackedAt === null && near(r.sentAt)) push(r.sentAt, `increment ${r.requestId} sent, never acknowledged${r.maybeApplied ? ' (maybe applied)' : ''}`);
      }
    }
    for (const f of this.h.faults) {
      const end = f.recoveredAt ?? Infinity;
      if (moments.some((m) => m >= f.startedAt - CONTEXT_MS && m <= end + CONTEXT_MS)) {
        push(f.startedAt, `fault ${f.kind}: ${f.detail}${f.recoveredAt === null ? ' (never recovered)' : `, recovered at ${this.rel(f.recoveredAt)}`}`);
      }
    }
    lines.sort((a, b) => a.time - b.time);
    // Keep the lines nearest to the moments when there are too many.
    if (lines.length <= MAX_CONTEXT_LINES) return lines.map((l) => l.text);
    const distance = (t: number): number => Math.min(...moments.map((m) => Math.abs(t - m)));
    const keep = new Set([...lines].sort((a, b) => distance(a.time) - distance(b.time)).slice(0, MAX_CONTEXT_LINES));
    return lines.filter((l) => keep.has(l)).map((l) => l.text);
  }
}

function objectKey(ev: Pick<LifecycleEvent, 'type' | 'id'>): string {
  return `${ev.type}/${ev.id}`;
}

/** The shard an object's events name (null for fixed-node objects or an object never activated). */
function shardOfObject(h: ChaosHistory, key: string): number | null {
  for (const inc of h.incarnations) for (const ev of inc.events) if (objectKey(ev) === key) return ev.shard;
  return null;
}

function parse(raw: string): ShardValue {
  return parseShardValue(raw).value;
}

function firstPerKind(violations: readonly Violation[]): Violation[] {
  const count = new Map<ViolationKind, number>();
  return violations.filter((v) => {
    const n = (count.get(v.kind) ?? 0) + 1;
    count.set(v.kind, n);
    return n <= MAX_PER_SUBJECT;
  });
}
