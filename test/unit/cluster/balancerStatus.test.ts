import { describe, expect, it } from 'vitest';
import { BalancerStatusLog, STATUS_RECORD_BOUND } from '../../../src/cluster/balancerStatus.js';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import type { LeaderDecision } from '../../../src/core/planner/leaderStep.js';

const balanced: LeaderDecision = { step: 'idle', reason: 'balanced', text: 'balanced: 3 nodes', until: null };
const reassign = (text = 'assign 1 shard'): LeaderDecision => ({ step: 'reassign', writes: [], text });

describe('the balancer status record', () => {
  it('is rewritten only when its content changes, never for a new timestamp alone', () => {
    const log = new BalancerStatusLog('l:1', 'count');
    log.record(balanced, 1000, [], false);
    const first = log.changedSince(null);
    expect(first).toMatchObject({ state: 'balanced', reason: 'balanced: 3 nodes', at: 1000, recent: [] });
    log.record(balanced, 2000, [], false);
    expect(log.changedSince(first)).toBeNull();
    log.record({ ...balanced, text: 'balanced: 4 nodes' }, 3000, [], false);
    expect(log.changedSince(first)).toMatchObject({ reason: 'balanced: 4 nodes', at: 3000 });
  });

  it('records a decision among the recent ones only when it wrote something', () => {
    const log = new BalancerStatusLog('l:1', 'count');
    log.record(reassign(), 1000, [], false);
    const failed = log.changedSince(null)!;
    expect(failed).toMatchObject({ state: 'acting', recent: [] });
    // The same plan losing its compares again and again: nothing new to publish.
    for (let at = 1001; at < 1100; at++) {
      log.record(reassign(), at, [], false);
      expect(log.changedSince(failed)).toBeNull();
    }
    log.record(reassign(), 2000, [{ shard: 1, from: '', to: 'a:1' }], true);
    expect(log.changedSince(failed)?.recent).toEqual([
      { at: 2000, strategy: 'count', outcome: 'reassign', reason: 'assign 1 shard', moves: [{ shard: 1, from: '', to: 'a:1' }] },
    ]);
  });

  it('stays within its bound by dropping the oldest decisions', () => {
    const log = new BalancerStatusLog('l:1', 'count');
    const long = 'x'.repeat(60_000); // an owner anyone with etcd access may have written into a shard value
    for (let i = 0; i < 5; i++) log.record(reassign(`move ${i}`), i, [{ shard: i, from: long, to: 'a:1' }], true);
    const record = log.changedSince(null)!;
    expect(encodeRecord(record).length).toBeLessThanOrEqual(STATUS_RECORD_BOUND);
    expect(record.recent.map((d) => d.reason)).toEqual(['move 4']);
  });
});
