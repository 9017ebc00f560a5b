import { closeSync, openSync, writeSync } from 'node:fs';
import { InternalError } from '../../core/errors.js';
import type { LifecycleSink, ObjectLifecycleEvent } from './lifecycleLog.js';

/**
 * Lifecycle events as JSON lines appended to a file. Each line is one synchronous write to an O_APPEND descriptor,
 * with no buffering in the process: once `record` returns, the line is in the kernel and survives `kill -9`.
 * (A machine crash may lose the tail; the checker runs against killed processes, not killed machines.)
 * A new file is created 0600: object IDs are the application's data.
 */
export class LifecycleLogFile implements LifecycleSink {
  private fd: number | null;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a', 0o600);
  }

  record(event: ObjectLifecycleEvent): void {
    if (this.fd === null) throw new InternalError(`lifecycle log ${this.path} is closed`);
    const line = Buffer.from(`${JSON.stringify(event)}\n`);
    for (let written = 0; written < line.length; ) written += writeSync(this.fd, line, written);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
