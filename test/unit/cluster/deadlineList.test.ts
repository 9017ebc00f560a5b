import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineList, type DeadlineNode } from '../../../src/cluster/deadlineList.js';
import { fakeClock } from './shardLockHelpers.js';

class Item implements DeadlineNode<Item> {
  earlier: Item | null = null;
  later: Item | null = null;
  listed = false;
  constructor(
    readonly name: string,
    public due: number,
  ) {}
}

let fired: string[];
let list: DeadlineList<Item>;
const at = (name: string, due: number) => {
  const item = new Item(name, due);
  list.add(item);
  return item;
};
const order = () => {
  const names: string[] = [];
  for (let i = list.first; i !== null; i = i.later) names.push(i.name);
  return names;
};

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  fired = [];
  list = new DeadlineList<Item>(fakeClock, (item, now) => fired.push(`${item.name}@${now}`));
});

afterEach(() => {
  vi.useRealTimers();
});

describe('DeadlineList', () => {
  it('hands over items exactly when due, in due order, with one timer', async () => {
    at('a', 10);
    at('b', 20);
    at('c', 20);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(9);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual(['a@10']);
    await vi.advanceTimersByTimeAsync(10);
    expect(fired).toEqual(['a@10', 'b@20', 'c@20']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps order for an item added out of order, and re-arms for it when it is the earliest', async () => {
    at('late', 100);
    at('later', 200);
    at('early', 50);
    at('middle', 150);
    expect(order()).toEqual(['early', 'late', 'middle', 'later']);
    await vi.advanceTimersByTimeAsync(50);
    expect(fired).toEqual(['early@50']);
  });

  it('never hands over a removed item, and removing twice is harmless', async () => {
    const a = at('a', 10);
    at('b', 30);
    list.remove(a);
    list.remove(a);
    await vi.advanceTimersByTimeAsync(29);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual(['b@30']);
    expect(order()).toEqual([]);
  });

  it('lets a callback add items, including ones already due', async () => {
    list = new DeadlineList<Item>(fakeClock, (item, now) => {
      fired.push(`${item.name}@${now}`);
      if (item.name === 'a') {
        list.add(new Item('now', now));
        list.add(new Item('soon', now + 5));
      }
    });
    at('a', 10);
    await vi.advanceTimersByTimeAsync(15);
    expect(fired).toEqual(['a@10', 'now@10', 'soon@15']);
  });

  it('never arms for Infinity', () => {
    at('x', Infinity);
    expect(vi.getTimerCount()).toBe(0);
    expect(order()).toEqual(['x']);
  });
});
