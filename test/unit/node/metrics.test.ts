/**
 * The node's `/metrics` text is a contract (dashboards, alert rules, the console read it): every goverse_ family's
 * name, help, type, labels, buckets and order, after each hook and scrape-time gauge has been exercised, must stay as
 * recorded in fixtures/metrics.golden.txt. A deliberate change to the catalog updates the golden file with it.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Readiness } from '../../../src/cluster/member.js';
import type { ShardLockStats } from '../../../src/cluster/shardLock.js';
import { buildSnapshot, type Kv } from '../../../src/core/snapshot/snapshot.js';
import { NodeMetricsRegistry } from '../../../src/node/metrics.js';
import type { HostStats } from '../../../src/node/objects/objectHost.js';

const NOW = 1_700_000_000_000;
const golden = readFileSync(new URL('./fixtures/metrics.golden.txt', import.meta.url), 'utf8');

/** Member keys need a lease to count as alive. */
function kv(key: string, value: string, revision: number): Kv {
  return { key, value, modRevision: revision, createRevision: revision, lease: key.includes('/nodes/') ? '7' : '0' };
}

/** Two nodes, a leader, a settled, a migrating, a pinned and an unclaimed shard, and a 90 s old migration record. */
function snapshot() {
  return buildSnapshot(
    '/g',
    4,
    [
      kv('/g/nodes/10.0.0.1:7000', '10.0.0.1:7000', 2),
      kv('/g/nodes/10.0.0.2:7000', '10.0.0.2:7000', 3),
      kv('/g/leader', '10.0.0.1:7000', 4),
      kv('/g/shard/0', '10.0.0.1:7000,10.0.0.1:7000', 5),
      kv('/g/shard/1', '10.0.0.2:7000,10.0.0.1:7000', 6),
      kv('/g/shard/2', '10.0.0.2:7000,10.0.0.2:7000,f=pinned', 7),
      kv('/g/shard/3', '10.0.0.2:7000,', 8),
      kv('/g/migration/1', JSON.stringify({ since: NOW - 90_000, target: '10.0.0.2:7000', from: '10.0.0.1:7000' }), 9),
    ],
    9,
  );
}

function exercise(m: NodeMetricsRegistry): void {
  const snap = snapshot();
  m.bind({
    snapshot: () => snap,
    hostStats: () => ({ objectsByTypeAndShard: new Map([['Counter', new Map([[0, 3], [null, 1]])]]) }) as unknown as HostStats,
    readiness: () => ({ ready: true, registered: true, targeted: 2, claimed: 1 }) as Readiness,
    lockStats: () => ({ hotShards: [{ shardId: 1, waits: 3, totalWaitMs: 1500, maxWaitMs: 900, timeouts: 1 }] }) as unknown as ShardLockStats,
    stuckTimeoutMs: 60_000,
  });
  m.recordCall('Counter', 'Inc', 0, 'success', 0.002);
  m.recordCall('Counter', 'Inc', null, 'failure', 0.5);
  m.recordOperation('CallObject', 'success', 0.003);
  m.recordOperation('CreateObject', 'timeout', 31);
  m.persistenceErrors.inc({ op: 'save', code: 'SQLITE_FULL' });
  m.stopDuration.observe({ node_addr: '10.0.0.1:7000', status: 'success' }, 1.5);
  const member = m.member;
  member.claimed!(3, 12);
  member.released!(2, 40);
  member.migrationCompleted!(2500, '10.0.0.2:7000');
  member.decision!('rebalance', 'imbalance');
  member.intervention!('retarget', '10.0.0.2:7000');
  member.intervention!('release', '10.0.0.2:7000');
  member.stuckDetected!('owner-dead');
  member.leader!(true);
  member.watcher!.onReconnect!('reconnected');
  member.writer!.onWriteFailures!('timeout', 4);
  member.writer!.onRetry!('connection_error');
  m.lock.acquired('read', 0.5);
  m.lock.acquired('write', 20);
  m.lock.writeLocksHeld(2);
  m.lock.timedOut('read');
  m.lock.aborted('write');
  m.lock.forcedRelease('write');
  m.lock.slowAcquisition('read');
}

const goverseLines = (text: string): string =>
  text
    .split('\n')
    .filter((l) => /^(# (HELP|TYPE) )?goverse_/.test(l))
    .map((l) => `${l}\n`)
    .join('');

describe('NodeMetricsRegistry', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  it('serves the recorded catalog: names, help, types, labels, buckets and order', async () => {
    const m = new NodeMetricsRegistry('10.0.0.1:7000');
    exercise(m);
    expect(goverseLines(await m.metricsText())).toBe(golden);
  });

  it('declares every family before its sources are bound, in the same order', async () => {
    const names = (text: string): string[] => [...text.matchAll(/^# TYPE (goverse_\S+)/gm)].map((x) => x[1]!);
    const unbound = new NodeMetricsRegistry('10.0.0.1:7000');
    expect(names(await unbound.metricsText())).toEqual(names(golden));
    expect(names(golden)).toHaveLength(41);
  });
});
