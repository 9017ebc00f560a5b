import { describe, expect, it } from 'vitest';
import { checkHistory, formatViolation, worstRecovery } from '../../chaos/checker.js';
import type { DeactivationReason } from '../../../src/node/objects/lifecycleLog.js';
import type { ChaosHistory, FaultRecord, Incarnation, IncrementRecord, LifecycleEvent } from '../../chaos/history.js';

const T0 = 1_700_000_000_000;
const A = '127.0.0.1:7001';
const B = '127.0.0.1:7002';

const act = (at: number, node: string, id: string, epoch: number): LifecycleEvent => ({
  event: 'activated',
  reason: 'call',
  time: T0 + at,
  node,
  type: 'Counter',
  id,
  shard: 3,
  epoch,
});
const deact = (at: number, node: string, id: string, epoch: number, reason: DeactivationReason = 'evicted'): LifecycleEvent => ({
  event: 'deactivated',
  reason,
  saved: reason !== 'fenced',
  time: T0 + at,
  node,
  type: 'Counter',
  id,
  shard: 3,
  epoch,
});

function incarnation(name: string, address: string, events: LifecycleEvent[], endedAt: number | null = null): Incarnation {
  return { name, address, startedAt: T0, endedAt: endedAt === null ? null : T0 + endedAt, events };
}

function increment(requestId: string, sentAt: number, ackedAt: number | null, value: number | null, maybeApplied = false): IncrementRecord {
  return { counter: 'c1', requestId, sentAt: T0 + sentAt, ackedAt: ackedAt === null ? null : T0 + ackedAt, value, maybeApplied };
}

function fault(kind: string, measuredFrom: number, recoveredAt: number | null, boundMs: number): FaultRecord {
  return { kind, detail: `${kind} detail`, startedAt: T0 + measuredFrom, measuredFrom: T0 + measuredFrom, recoveredAt: recoveredAt === null ? null : T0 + recoveredAt, boundMs };
}

/** A clean two-node history: shard 3 ends on A; no faults, no increments. */
function history(overrides: Partial<ChaosHistory> = {}): ChaosHistory {
  return {
    seed: 1,
    startedAt: T0,
    incarnations: [],
    increments: [],
    shardChanges: [],
    operatorWrites: [],
    faults: [],
    hostile: [],
    final: { counters: new Map(), shards: [`${A},${A}`], aliveNodes: [A, B] },
    ...overrides,
  };
}

const kinds = (h: ChaosHistory) => checkHistory(h).map((v) => v.kind);

describe('chaos checker: single activation', () => {
  it('accepts a handover where the new owner activates when the old one has deactivated', () => {
    const h = history({
      incarnations: [
        incarnation('n0#1', A, [act(0, A, 'x', 10), deact(100, A, 'x', 10)]),
        incarnation('n1#1', B, [act(100, B, 'x', 20)]),
      ],
    });
    expect(checkHistory(h)).toEqual([]);
  });

  it('reports an object active on two nodes at once, with both incarnations and the overlap in its history', () => {
    const h = history({
      incarnations: [
        incarnation('n0#1', A, [act(0, A, 'x', 10), deact(200, A, 'x', 10, 'fenced')]),
        incarnation('n1#1', B, [act(150, B, 'x', 20)]),
      ],
    });
    const [v, ...rest] = checkHistory(h);
    expect(rest).toEqual([]);
    expect(v!.kind).toBe('double-activation');
    expect(v!.message).toContain('Counter/x was active on n0#1');
    expect(v!.message).toContain('n1#1');
    expect(v!.message).toContain('+0.150s to +0.200s');
    const text = formatViolation(v!);
    expect(text).toContain('n1#1 activated Counter/x (shard 3, epoch 20, call)');
    expect(text).toContain('n0#1 deactivated Counter/x (shard 3, epoch 10, fenced)');
  });

  it('counts the objects of a killed process active until it exited', () => {
    const killed = [act(0, A, 'x', 10)];
    expect(kinds(history({ incarnations: [incarnation('n0#1', A, killed, 300), incarnation('n1#1', B, [act(250, B, 'x', 20)])] }))).toEqual([
      'double-activation',
    ]);
    expect(kinds(history({ incarnations: [incarnation('n0#1', A, killed, 300), incarnation('n1#1', B, [act(300, B, 'x', 20)])] }))).toEqual([]);
  });

  it('treats a restarted node as a new incarnation and an object still active at the end as active forever', () => {
    const h = history({
      incarnations: [incarnation('n0#1', A, [act(0, A, 'x', 10)]), incarnation('n0#2', A, [act(5000, A, 'x', 30)])],
    });
    const [v] = checkHistory(h);
    expect(v!.kind).toBe('double-activation');
    expect(v!.message).toContain('the end of the run');
  });

  it('accepts re-activations in one incarnation and different objects on different nodes', () => {
    const h = history({
      incarnations: [
        incarnation('n0#1', A, [act(0, A, 'x', 10), deact(10, A, 'x', 10), act(20, A, 'x', 11)]),
        incarnation('n1#1', B, [act(5, B, 'y', 20)]),
      ],
    });
    expect(checkHistory(h)).toEqual([]);
  });
});

describe('chaos checker: acknowledged increments', () => {
  const counters = (value: number | null) => ({ final: { counters: new Map([['c1', value]]), shards: [`${A},${A}`], aliveNodes: [A] } });

  it('accepts acknowledged increments within the final value, plus possibly applied unacknowledged ones', () => {
    const increments = [increment('r1', 0, 10, 1), increment('r2', 20, 30, 2), increment('r3', 40, null, null, true), increment('r4', 50, null, null)];
    expect(checkHistory(history({ increments, ...counters(2) }))).toEqual([]);
    expect(checkHistory(history({ increments, ...counters(3) }))).toEqual([]);
  });

  it('reports an acknowledged increment missing from the final value', () => {
    const increments = [increment('r1', 0, 10, 1), increment('r2', 20, 30, 2)];
    const [v, ...rest] = checkHistory(history({ increments, ...counters(1) }));
    expect(rest).toEqual([]);
    expect(v!.kind).toBe('lost-increment');
    expect(v!.message).toContain('r2 was acknowledged with value 2 but the final value is 1');
    expect(formatViolation(v!)).toContain('increment r2 acknowledged: value 2');
  });

  it('reports two acknowledged increments that returned the same value', () => {
    const increments = [increment('r1', 0, 10, 1), increment('r2', 0, 12, 1)];
    expect(kinds(history({ increments, ...counters(2) }))).toEqual(['lost-increment']);
  });

  it('reports an increment applied twice: the final value exceeds what could have been applied', () => {
    const increments = [increment('r1', 0, 10, 1), increment('r2', 20, 30, 2), increment('r3', 40, null, null)];
    const [v] = checkHistory(history({ increments, ...counters(3) }));
    expect(v!.kind).toBe('duplicate-increment');
    expect(v!.message).toContain('final value 3 exceeds the 2 acknowledged plus 0 possibly applied');
  });

  it('reports an increment sent after another was acknowledged that saw a lower value (a stale copy)', () => {
    const increments = [increment('r1', 0, 100, 2), increment('r2', 150, 160, 1)];
    const [v, ...rest] = checkHistory(history({ increments, ...counters(2) }));
    expect(rest).toEqual([]);
    expect(v!.kind).toBe('stale-increment');
    expect(v!.message).toContain('r2 was sent after r1 was acknowledged with 2');
  });

  it('does not order concurrent increments', () => {
    const increments = [increment('r1', 0, 100, 2), increment('r2', 50, 160, 1)];
    expect(checkHistory(history({ increments, ...counters(2) }))).toEqual([]);
  });

  it('reports a counter that could not be read', () => {
    expect(kinds(history({ increments: [increment('r1', 0, 10, 1)], ...counters(null) }))).toEqual(['unread-counter']);
  });
});

describe('chaos checker: pinned shards', () => {
  const change = (revision: number, before: string | null, after: string | null) => ({ time: T0 + revision, revision, shard: 0, before, after });

  it('accepts claims and releases of a pinned shard toward its target, and operator writes', () => {
    const h = history({
      shardChanges: [
        change(1, `${A},${A}`, `${A},${A},f=pinned`),
        change(2, `${A},${A},f=pinned`, `${B},${A},f=pinned`),
        change(3, `${B},${A},f=pinned`, `${B},,f=pinned`),
        change(4, `${B},,f=pinned`, `${B},${B},f=pinned`),
        change(5, `${B},${B},f=pinned`, `${B},${B}`),
      ],
      operatorWrites: [
        { time: T0 + 1, action: 'pin', shard: 0, value: `${A},${A},f=pinned` },
        { time: T0 + 2, action: 'retarget', shard: 0, value: `${B},${A},f=pinned` },
        { time: T0 + 5, action: 'unpin', shard: 0, value: `${B},${B}` },
      ],
      final: { counters: new Map(), shards: [`${B},${B}`], aliveNodes: [A, B] },
    });
    expect(checkHistory(h)).toEqual([]);
  });

  it('reports a pinned shard retargeted, claimed elsewhere or unpinned without an operator', () => {
    const retargeted = history({ shardChanges: [change(7, `${A},${A},f=pinned`, `${B},${A},f=pinned`)] });
    const [v] = checkHistory(retargeted);
    expect(v!.kind).toBe('pinned-moved');
    expect(v!.message).toContain(`was retargeted from ${A} to ${B} at revision 7`);
    expect(formatViolation(v!)).toContain(`shard 0 rev 7: "${A},${A},f=pinned" -> "${B},${A},f=pinned"`);
    expect(kinds(history({ shardChanges: [change(7, `${A},,f=pinned`, `${A},${B},f=pinned`)] }))).toEqual(['pinned-moved']);
    expect(kinds(history({ shardChanges: [change(7, `${A},${A},f=pinned`, `${A},${A}`)] }))).toEqual(['pinned-moved']);
    expect(kinds(history({ shardChanges: [change(7, `${A},${A},f=pinned`, null)] }))).toEqual(['pinned-moved']);
  });

  it('accepts a merge deleting a pinned high shard when its pin moves to the low shard in the same transaction', () => {
    const at = (shard: number, revision: number, before: string | null, after: string | null) => ({ ...change(revision, before, after), shard });
    const deleted = at(13, 9, `${A},${A},f=pinned`, null);
    expect(kinds(history({ shardChanges: [deleted, at(5, 9, `${A},${A}`, `${A},${A},f=pinned`)] }))).toEqual([]);
    // Not the pair's low shard (13 - 8 = 5), another revision, or the pin dropped: the pin moved.
    expect(kinds(history({ shardChanges: [deleted, at(4, 9, `${A},${A}`, `${A},${A},f=pinned`)] }))).toEqual(['pinned-moved']);
    expect(kinds(history({ shardChanges: [deleted, at(5, 10, `${A},${A}`, `${A},${A},f=pinned`)] }))).toEqual(['pinned-moved']);
    expect(kinds(history({ shardChanges: [deleted, at(5, 9, `${A},${A}`, `${A},${A}`)] }))).toEqual(['pinned-moved']);
  });
});

describe('chaos checker: final owners and recovery', () => {
  it('reports shards owned by a dead node, still migrating, or absent at the end', () => {
    const h = history({ final: { counters: new Map(), shards: [`${A},${A}`, `${B},${B}`, `${B},${A}`, null], aliveNodes: [A] } });
    const [v, ...rest] = checkHistory(h);
    expect(rest).toEqual([]);
    expect(v!.kind).toBe('final-owner');
    expect(v!.message).toContain('3 shards');
    expect(v!.history).toEqual([`shard 1: "${B},${B}" (owner not alive)`, `shard 2: "${B},${A}" (still migrating)`, 'shard 3: no key']);
  });

  it('reports a fault that recovered too late or never, and reports the worst recovery per kind', () => {
    const faults = [fault('kill', 0, 4000, 5000), fault('kill', 10_000, 17_000, 5000), fault('freeze', 20_000, null, 5000)];
    const violations = checkHistory(history({ faults }));
    expect(violations.map((v) => v.kind)).toEqual(['recovery-bound', 'not-recovered']);
    expect(violations[0]!.message).toContain('recovered after 7000 ms, bound 5000 ms');
    expect(worstRecovery(faults)).toEqual({ kill: 7000 });
  });
});

describe('chaos checker: writes under hostile input', () => {
  it('reports an episode during which the cluster wrote more than 20 keys a second, with what it wrote', () => {
    const episode = (writes: number) => ({ startedAt: T0, endedAt: T0 + 5000, writes, byDir: { rebalance: writes } });
    expect(checkHistory(history({ hostile: [episode(100)] }))).toEqual([]);
    const [v, ...rest] = checkHistory(history({ hostile: [episode(100), episode(1000)] }));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ kind: 'write-rate', message: expect.stringMatching(/wrote 1000 keys in 5\.0 s \(200\.0\/s, bound 20\/s\): rebalance 1000$/) });
  });
});
