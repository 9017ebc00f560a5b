import { describe, expect, it } from 'vitest';
import { FrameScheduler, type FrameTimer } from '../../../src/console/frameScheduler.js';

/** A manual clock: timers fire only when the test advances time. */
class ManualTimer implements FrameTimer {
  time = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  now(): number {
    return this.time;
  }
  set(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, fn, id });
    return id;
  }
  clear(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = end;
  }
}

describe('FrameScheduler', () => {
  it('coalesces any number of requests between frames into one frame', () => {
    const timer = new ManualTimer();
    let frames = 0;
    const s = new FrameScheduler(100, 20, () => frames++, timer);
    for (let i = 0; i < 1000; i++) s.request();
    timer.advance(0);
    expect(frames).toBe(1);
  });

  it('serves a request after a quiet spell at once, and caps the rate under a storm', () => {
    const timer = new ManualTimer();
    const at: number[] = [];
    const s = new FrameScheduler(100, 20, () => at.push(timer.now()), timer);
    s.request();
    timer.advance(0);
    expect(at).toEqual([0]);
    // A storm: a request every millisecond for one second gives one frame per 100 ms.
    for (let t = 1; t <= 1000; t++) {
      timer.advance(1);
      s.request();
    }
    timer.advance(200);
    expect(at.length).toBeGreaterThanOrEqual(10);
    expect(at.length).toBeLessThanOrEqual(12);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(100);
  });

  it('a key during a storm is answered after the shorter input interval, not the data one', () => {
    const timer = new ManualTimer();
    const at: number[] = [];
    const s = new FrameScheduler(200, 50, () => at.push(timer.now()), timer);
    s.request();
    timer.advance(0);
    s.request();
    timer.advance(10);
    s.request(true);
    timer.advance(100);
    expect(at).toEqual([0, 50]);
  });

  it('runs nothing after stop', () => {
    const timer = new ManualTimer();
    let frames = 0;
    const s = new FrameScheduler(50, 20, () => frames++, timer);
    s.request();
    s.stop();
    s.request();
    timer.advance(1000);
    expect(frames).toBe(0);
  });
});
