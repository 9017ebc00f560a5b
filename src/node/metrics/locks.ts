import type { LockMode, ShardLockHooks } from '../../cluster/shardLock.js';
import type { MetricDeclarer } from './declare.js';

const LOCK_BUCKETS = [0.00001, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];
const MODES: readonly LockMode[] = ['read', 'write'];

/** Shard locks: the shard lock's hooks, and the most contended shards read at scrape time. */
export function declareLockMetrics(m: MetricDeclarer): ShardLockHooks {
  // Every grant counts: hot-path series, looked up once per mode.
  const lockAcq = m.hotCounter('goverse_shard_lock_acquisitions_total', 'Shard lock acquisitions by mode', ['mode']);
  const lockWait = m.hotHistogram('goverse_shard_lock_wait_seconds', 'Time spent waiting for a shard lock, by mode', ['mode'], LOCK_BUCKETS);
  const acquisitions = { read: lockAcq.series('read'), write: lockAcq.series('write') };
  const waits = { read: lockWait.series('read'), write: lockWait.series('write') };
  const writeHeld = m.gauge('goverse_shard_write_locks_held', 'Shard write locks held now');
  const timeouts = m.counter('goverse_shard_lock_timeouts_total', 'Shard lock acquisitions that timed out', ['mode']);
  const forced = m.counter('goverse_shard_lock_forced_releases_total', 'Shard locks force-released after the maximum hold time', ['mode']);
  const slow = m.counter('goverse_shard_lock_slow_acquisitions_total', 'Shard lock acquisitions slower than the warning threshold', ['mode']);
  const aborted = m.counter('goverse_shard_lock_aborts_total', 'Shard lock waits abandoned by the caller', ['mode']);
  m.scraped(
    'goverse_shard_lock_contended',
    'Hottest shards by lock wait in the recent window: stat = waits, wait_seconds, max_wait_seconds, timeouts',
    ['shard', 'stat'],
    (g, s) => {
      for (const h of s.lockStats().hotShards) {
        const shard = String(h.shardId);
        g.set({ shard, stat: 'waits' }, h.waits);
        g.set({ shard, stat: 'wait_seconds' }, h.totalWaitMs / 1000);
        g.set({ shard, stat: 'max_wait_seconds' }, h.maxWaitMs / 1000);
        g.set({ shard, stat: 'timeouts' }, h.timeouts);
      }
    },
  );
  for (const mode of MODES) {
    timeouts.inc({ mode }, 0);
    forced.inc({ mode }, 0);
  }
  return {
    acquired: (mode, waitMs) => {
      acquisitions[mode].value++;
      waits[mode].observe(waitMs / 1000);
    },
    writeLocksHeld: (n) => writeHeld.set(n),
    timedOut: (mode) => timeouts.inc({ mode }),
    aborted: (mode) => aborted.inc({ mode }),
    forcedRelease: (mode) => forced.inc({ mode }),
    slowAcquisition: (mode) => slow.inc({ mode }),
  };
}
