/**
 * vitest globalSetup of the integration project: before the run, kill processes and remove temp dirs that a
 * crashed earlier run left behind; after it, sweep again, which catches anything a crashed worker left (its
 * exit hook never ran). Entries owned by live processes belong to a concurrent run and are kept.
 */
import { sweepOrphans } from './processes.js';

function report(when: string, result: { killed: number; removedDirs: number }): void {
  if (result.killed + result.removedDirs > 0) {
    process.stderr.write(`test harness (${when}): killed ${result.killed} leftover processes, removed ${result.removedDirs} temp dirs\n`);
  }
}

export default function setup(): () => void {
  report('setup', sweepOrphans());
  return () => report('teardown', sweepOrphans());
}
