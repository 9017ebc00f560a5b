/**
 * goverse-node starts as ordered steps and unwinds in reverse when one fails (src/node/startup.ts): a start that
 * fails at any step, by an injected failure at each step or by a real one (a port in use, an etcd client refusing
 * its TLS file, an event log that cannot be opened, another cluster's database), leaves no listening port, socket,
 * timer, file descriptor or child process behind, and the process exits by itself (fixtures/failedStart.ts runs
 * every scenario in one process against a real etcd and never calls process.exit).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_START_STEPS } from '../../../src/node/node.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { managedTempDir, removeManagedDir } from '../../harness/processes.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/failedStart.ts', import.meta.url));

let etcd: EtcdCluster;
const dir = managedTempDir('failed-start');

beforeAll(async () => {
  etcd = await startEtcd('failed-start');
});

afterAll(async () => {
  await etcd?.close();
  removeManagedDir(dir);
});

interface Outcome {
  readonly scenario: string;
  readonly error: string | null;
  readonly left: readonly string[];
}

/** Runs the fixture to its end; `exit` is its exit code, or 'killed' when it did not end by itself in time. */
function runFixture(): Promise<{ exit: number | string; outcomes: Outcome[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, etcd.endpoints.join(','), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    // Generous for a loaded machine: the scenarios take about two seconds.
    const deadline = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
      resolve({ exit: signal === 'SIGKILL' ? 'killed' : (code ?? signal ?? 'unknown'), outcomes: lines.map((l) => JSON.parse(l) as Outcome), stderr });
    });
  });
}

describe('goverse-node start-up', () => {
  it('a start that fails at any step leaves nothing running, and the process exits by itself', async () => {
    const { exit, outcomes, stderr } = await runFixture();
    expect(exit, stderr).toBe(0);
    const expected: [string, RegExp][] = [
      ...NODE_START_STEPS.map((step): [string, RegExp] => [`injected at ${step}`, new RegExp(`^injected failure at ${step}$`)]),
      ['database of another cluster', /belongs to cluster \/someone-else/],
      ['object API port in use', /EADDRINUSE/],
      ['operations port in use', /EADDRINUSE/],
      ['etcd client refuses its TLS file', /holds no PEM certificate/],
      ['event log cannot be opened', /ENOENT/],
      ['admin API port in use', /EADDRINUSE/],
    ];
    expect(outcomes.map((o) => o.scenario)).toEqual([...expected.map(([name]) => name), 'started and stopped']);
    for (const [i, [name, error]] of expected.entries()) {
      expect(outcomes[i]!.error, name).toMatch(error);
      expect(outcomes[i]!.left, `left behind after ${name}`).toEqual([]);
    }
    expect(outcomes.at(-1)).toEqual({ scenario: 'started and stopped', error: null, left: [] });
  });
});
