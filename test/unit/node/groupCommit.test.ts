import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import { GroupCommit, type GroupLimits, type Settled } from '../../../src/node/persistence/groupCommit.js';

interface Settle {
  resolve(outcomes: Settled<string>[]): void;
  reject(err: unknown): void;
}

/** A commit primitive under the test's control: every group it was handed, each settled when the test says so. */
class Commits {
  readonly groups: string[][] = [];
  private readonly pending: { ops: readonly string[]; settle: Settle }[] = [];
  /** Groups that fail as a whole: those holding one of these operations. */
  readonly poison = new Set<string>();
  /** Operations refused on their own (as a stale epoch is). */
  readonly refused = new Set<string>();
  /** Groups settle at once unless held. */
  hold = false;

  readonly commit = (ops: readonly string[]): Promise<Settled<string>[]> => {
    this.groups.push([...ops]);
    return new Promise((resolve, reject) => {
      if (this.hold) this.pending.push({ ops, settle: { resolve, reject } });
      else this.settle(ops, { resolve, reject });
    });
  };

  /** Settles the oldest held group. */
  release(): void {
    const held = this.pending.shift();
    if (held === undefined) throw new Error('no group is held');
    this.settle(held.ops, held.settle);
  }

  private settle(ops: readonly string[], settle: Settle): void {
    if (ops.some((op) => this.poison.has(op))) return settle.reject(new Error(`group ${ops.join(',')} failed`));
    settle.resolve(ops.map((op) => (this.refused.has(op) ? { ok: false, error: new Error(`${op} refused`) } : { ok: true, value: `${op} committed` })));
  }
}

const fakeClock: Clock = { now: () => Date.now(), monotonic: () => Date.now() };

function setup(limits: Partial<GroupLimits> = {}, clock?: Clock) {
  const commits = new Commits();
  const group = new GroupCommit(commits.commit, { maxSize: 256, maxWaitMs: 0, ...limits }, clock);
  return { commits, group };
}

const oneTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Lets the event loop turn until what was pending has run: a settled group, then the next one it schedules. */
const turn = async (): Promise<void> => {
  await oneTurn();
  await oneTurn();
};

/** Settlement of each promise, in order: its value or `error: message`. */
function outcomes(promises: Promise<string>[]): Promise<string[]> {
  return Promise.all(promises.map((p) => p.then((v) => v, (e: Error) => `error: ${e.message}`)));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('GroupCommit', () => {
  it('commits a lone write on an idle store in the turn it arrived in, without waiting', async () => {
    const { commits, group } = setup({ maxWaitMs: 0 });
    const saved = group.submit('a');
    expect(commits.groups).toEqual([]);
    await oneTurn();
    expect(commits.groups).toEqual([['a']]);
    expect(await saved).toBe('a committed');
  });

  it('groups the writes of one turn, and the writes that arrive while a commit runs into the next group', async () => {
    const { commits, group } = setup();
    commits.hold = true;
    const first = [group.submit('a'), group.submit('b')];
    await turn();
    expect(commits.groups).toEqual([['a', 'b']]);

    // While a..b commit, more arrive over several turns: they wait, and no second commit starts meanwhile.
    const answered: string[] = [];
    for (const p of first) void p.then((v) => answered.push(v));
    const second = [group.submit('c')];
    await turn();
    second.push(group.submit('d'), group.submit('e'));
    await turn();
    expect(commits.groups).toEqual([['a', 'b']]);
    expect(answered, 'nobody is answered before its group has committed').toEqual([]);

    commits.release();
    expect(await outcomes(first)).toEqual(['a committed', 'b committed']);
    await turn();
    expect(commits.groups).toEqual([['a', 'b'], ['c', 'd', 'e']]);
    commits.release();
    expect(await outcomes(second)).toEqual(['c committed', 'd committed', 'e committed']);
  });

  it('never puts more than maxSize writes in a group', async () => {
    const { commits, group } = setup({ maxSize: 3 });
    const all = Array.from({ length: 7 }, (_, i) => group.submit(`w${i}`));
    await outcomes(all);
    expect(commits.groups).toEqual([['w0', 'w1', 'w2'], ['w3', 'w4', 'w5'], ['w6']]);
  });

  it('lets the first write of a group wait at most maxWaitMs for others, and commits a full group at once', async () => {
    vi.useFakeTimers();
    const { commits, group } = setup({ maxSize: 3, maxWaitMs: 50 }, fakeClock);
    const a = group.submit('a');
    await vi.advanceTimersByTimeAsync(20);
    const b = group.submit('b');
    await vi.advanceTimersByTimeAsync(29);
    expect(commits.groups).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(commits.groups).toEqual([['a', 'b']]);
    expect(await outcomes([a, b])).toEqual(['a committed', 'b committed']);

    // Full before the wait is over: no waiting.
    const full = [group.submit('c'), group.submit('d'), group.submit('e')];
    await vi.advanceTimersByTimeAsync(0);
    expect(commits.groups).toEqual([['a', 'b'], ['c', 'd', 'e']]);
    expect(await outcomes(full)).toHaveLength(3);
  });

  it('a failed group fails exactly the writes it held; the groups before and after it commit', async () => {
    const { commits, group } = setup({ maxSize: 2 });
    commits.poison.add('bad');
    commits.hold = true;
    const before = outcomes([group.submit('a'), group.submit('b')]);
    const failing = outcomes([group.submit('c'), group.submit('bad')]);
    const after = outcomes([group.submit('d'), group.submit('e')]);
    await turn();
    commits.release();
    await turn();
    commits.release();
    await turn();
    // Arrives while the failing group's successor commits: its own group, untouched by the failure.
    const later = outcomes([group.submit('f')]);
    commits.release();
    await turn();
    commits.release();
    expect(await before).toEqual(['a committed', 'b committed']);
    expect(await failing).toEqual(['error: group c,bad failed', 'error: group c,bad failed']);
    expect(await after).toEqual(['d committed', 'e committed']);
    expect(await later).toEqual(['f committed']);
    expect(commits.groups).toEqual([['a', 'b'], ['c', 'bad'], ['d', 'e'], ['f']]);
  });

  it('a write refused on its own (a stale epoch) fails alone; the rest of its group commits', async () => {
    const { commits, group } = setup();
    commits.refused.add('stale');
    const all = [group.submit('a'), group.submit('stale'), group.submit('b')];
    expect(await outcomes(all)).toEqual(['a committed', 'error: stale refused', 'b committed']);
    expect(commits.groups).toEqual([['a', 'stale', 'b']]);
  });

  it('fails a group whose commit returns the wrong number of outcomes, rather than leaving callers waiting', async () => {
    const group = new GroupCommit<string, string>(async () => [{ ok: true, value: 'one' }], { maxSize: 256, maxWaitMs: 0 });
    expect(await outcomes([group.submit('a'), group.submit('b')])).toEqual([
      'error: group commit returned 1 outcomes for 2 operations',
      'error: group commit returned 1 outcomes for 2 operations',
    ]);
  });

  it('idle() resolves once every write submitted so far has settled', async () => {
    const { commits, group } = setup({ maxSize: 1 });
    await group.idle();
    commits.hold = true;
    const writes = [group.submit('a'), group.submit('b')];
    let idle = false;
    void group.idle().then(() => (idle = true));
    await turn();
    commits.release();
    await turn();
    expect(idle).toBe(false);
    commits.release();
    await outcomes(writes);
    await turn();
    expect(idle).toBe(true);
  });
});
