import type { Clock } from '../../core/clock.js';
import { armWait, waitOver, type WaitOptions } from './waitOptions.js';

type Release = () => void;

interface Waiter {
  grant(release: Release): void;
}

/**
 * The per-object call queue: one holder at a time, waiters served in arrival order. A waiter that gives up (signal,
 * deadline) leaves the queue without disturbing the others. The lock passes straight to the next waiter on release,
 * so a newcomer can never overtake the queue.
 */
export class FifoMutex {
  private held = false;
  private readonly queue: Waiter[] = [];

  /** Takes the lock if it is free. */
  tryLock(): Release | null {
    if (this.held) return null;
    this.held = true;
    return this.releaser();
  }

  lock(options: WaitOptions, clock: Clock, what: string): Promise<Release> {
    const over = waitOver(options, clock, what);
    if (over !== null) return Promise.reject(over);
    const release = this.tryLock();
    if (release !== null) return Promise.resolve(release);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: (granted) => {
          disarm();
          resolve(granted);
        },
      };
      const disarm = armWait(options, clock, what, (err) => {
        const index = this.queue.indexOf(waiter);
        if (index < 0) return; // already granted (or cancelled): the grant stands
        this.queue.splice(index, 1);
        disarm();
        reject(err);
      });
      this.queue.push(waiter);
    });
  }

  /** Release functions are idempotent: a second call must not release someone else's hold. */
  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next === undefined) this.held = false;
      else next.grant(this.releaser());
    };
  }
}
