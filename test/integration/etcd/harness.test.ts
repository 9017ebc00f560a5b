import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnManaged, sweepOrphans } from '../../harness/processes.js';
import { waitFor } from '../../harness/waitFor.js';

const fixture = fileURLToPath(new URL('../../harness/fixtures/orphanEtcd.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test process registry', () => {
  it('kills the processes and removes the dirs a crashed worker left behind', async () => {
    const worker = spawnManaged('crashing worker', process.execPath, ['--import', 'tsx', fixture]);
    const line = await waitFor('the worker to report its etcd', () => worker.output().split('\n').find((l) => l.startsWith('{"pid"')), {
      timeoutMs: 30_000,
      describe: () => worker.output(),
    });
    const { pid, dataDir } = JSON.parse(line) as { pid: number; dataDir: string };
    await worker.kill();
    expect(alive(pid)).toBe(true);

    const swept = sweepOrphans();
    expect(swept.killed).toBeGreaterThanOrEqual(1);
    await waitFor('the orphaned etcd to die', () => !alive(pid));
    expect(existsSync(dataDir)).toBe(false);
  });
});
