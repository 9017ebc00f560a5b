import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../../src/core/errors.js';
import { checkPauseLength, DEFAULT_MAX_PAUSE_MS, planOperation } from '../../../../src/core/operations/operations.js';
import { emptySnapshot } from '../../../../src/core/snapshot/snapshot.js';

const ctx = { snapshot: emptySnapshot('/p', 4), now: 1_000_000, by: 'tester' };
const planPause = (forMs: number, reason = '', maxPauseMs?: number) =>
  planOperation({ kind: 'pause', forMs, reason }, { ...ctx, ...(maxPauseMs === undefined ? {} : { maxPauseMs }) });

describe('pause length', () => {
  it('is at least 1s and at most the longest pause, 24h by default', () => {
    expect(DEFAULT_MAX_PAUSE_MS).toBe(86_400_000);
    expect(planPause(86_400_000).recordChanges[0]).toMatchObject({ leaseTtlSeconds: 86_400 });
    expect(() => planPause(86_400_001)).toThrow(InvalidArgumentError);
    // 274 years: etcd would have taken the lease; 300 years failed there as a runtime error.
    expect(() => planPause(274 * 365 * 86_400_000)).toThrow('a pause of 2400240h is longer than the longest allowed, 24h (GOVERSE_MAX_PAUSE)');
    expect(() => planPause(999)).toThrow('a pause must last at least 1s');
  });

  it('follows the configured longest pause', () => {
    expect(() => checkPauseLength(3_600_001, 3_600_000)).toThrow(/longer than the longest allowed, 1h/);
    expect(() => checkPauseLength(3_600_000, 3_600_000)).not.toThrow();
    expect(planPause(48 * 3_600_000, 'long maintenance', 72 * 3_600_000).recordChanges[0]).toMatchObject({ leaseTtlSeconds: 172_800 });
    expect(() => planPause(600_000, '', 60_000)).toThrow(InvalidArgumentError);
  });
});
