import type { Clock } from '../core/clock.js';

/** setTimeout's longest delay; a longer one would fire after 1 ms, so the list re-arms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** An item of a DeadlineList. The links live in the item, so adding and removing allocate nothing. */
export interface DeadlineNode<T> {
  /** When the item falls due, in the list clock's monotonic milliseconds; Infinity never does. */
  due: number;
  earlier: T | null;
  later: T | null;
  listed: boolean;
}

/**
 * Items ordered by due time with one timer for the whole list, armed for the earliest item. Removing an item never
 * touches the timer: when it fires it hands over the items that are due and re-arms for the next one. Items almost
 * always arrive in due order (one duration for all, added as time goes by), so adding is O(1) in practice.
 */
export class DeadlineList<T extends DeadlineNode<T>> {
  private head: T | null = null;
  private tail: T | null = null;
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;
  private firing = false;
  private readonly onTimer = (): void => this.fire();

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (item: T, now: number) => void,
  ) {}

  /** Oldest first; follow `later` from here. */
  get first(): T | null {
    return this.head;
  }

  add(item: T): void {
    let after = this.tail;
    while (after !== null && after.due > item.due) after = after.earlier;
    item.earlier = after;
    item.later = after === null ? this.head : after.later;
    if (item.later === null) this.tail = item;
    else item.later.earlier = item;
    if (after === null) this.head = item;
    else after.later = item;
    item.listed = true;
    if (item.due !== Infinity && !this.firing && item.due < this.armedFor) this.arm(item.due);
  }

  remove(item: T): void {
    if (!item.listed) return;
    if (item.earlier === null) this.head = item.later;
    else item.earlier.later = item.later;
    if (item.later === null) this.tail = item.earlier;
    else item.later.earlier = item.earlier;
    item.earlier = item.later = null;
    item.listed = false;
  }

  private fire(): void {
    this.timer = null;
    this.armedFor = Infinity;
    this.firing = true;
    try {
      const now = this.clock.monotonic();
      // Due items leave the list before their callback runs, so a callback may add or remove items freely.
      for (let item = this.head; item !== null && item.due <= now; item = this.head) {
        this.remove(item);
        this.onDue(item, now);
      }
    } finally {
      this.firing = false;
    }
    // Also covers a timer that fired a hair early by this clock: the same item is simply due a moment later.
    if (this.head !== null && this.head.due !== Infinity) this.arm(this.head.due);
  }

  private arm(due: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedFor = due;
    this.timer = setTimeout(this.onTimer, Math.min(Math.max(0, due - this.clock.monotonic()), MAX_TIMER_MS));
    // Bookkeeping timers never keep the process alive on their own.
    this.timer.unref();
  }
}
