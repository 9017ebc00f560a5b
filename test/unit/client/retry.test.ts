import { describe, expect, it } from 'vitest';
import { CallTimeoutError, NodeUnreachableError, NoRouteError, RemoteError } from '../../../src/client/errors.js';
import { afterFailure, replyError, socketError } from '../../../src/client/retry.js';
import { InvalidArgumentError, TimeoutError } from '../../../src/core/errors.js';

const policy = { initialBackoffMs: 10, maxBackoffMs: 200 };

describe('afterFailure', () => {
  it('retries retriable failures with capped exponential backoff and jitter in [d/2, d]', () => {
    const retriable = new NoRouteError('shard 1 has no owner', 1, null);
    const delays = (random: number) =>
      Array.from({ length: 8 }, (_, attempt) => {
        const d = afterFailure(retriable, attempt, 10_000, policy, () => random);
        if (d.kind !== 'retry') throw new Error('expected a retry');
        return d.delayMs;
      });
    expect(delays(1)).toEqual([10, 20, 40, 80, 160, 200, 200, 200]);
    expect(delays(0)).toEqual([5, 10, 20, 40, 80, 100, 100, 100]);
  });

  it('never waits past the deadline, and stops once it has passed', () => {
    const err = new NodeUnreachableError('a:1', 'ECONNREFUSED', new Error('refused'));
    expect(afterFailure(err, 10, 30, policy, () => 1)).toEqual({ kind: 'retry', delayMs: 30 });
    expect(afterFailure(err, 0, 0, policy)).toEqual({ kind: 'stop', why: 'deadline' });
    expect(afterFailure(err, 0, -5, policy)).toEqual({ kind: 'stop', why: 'deadline' });
  });

  it('stops at once on failures that are not retriable, deadline or not', () => {
    expect(afterFailure(new InvalidArgumentError('bad'), 0, 10_000, policy)).toEqual({ kind: 'stop', why: 'not-retriable' });
    expect(afterFailure(new Error('plain'), 0, 10_000, policy)).toEqual({ kind: 'stop', why: 'not-retriable' });
    expect(afterFailure(replyError('a:1', 404, body('not_found', false)), 0, 10_000, policy)).toEqual({ kind: 'stop', why: 'not-retriable' });
  });
});

function body(code: string, retriable: boolean, name = 'SomeError'): string {
  return JSON.stringify({ error: { code, message: `it is ${code}`, retriable, name } });
}

describe('replyError', () => {
  it('keeps the node\'s typed error and trusts its retriable bit', () => {
    const notOwner = replyError('a:1', 503, body('not_owner', true, 'NotOwnerError'));
    expect(notOwner).toBeInstanceOf(RemoteError);
    expect(notOwner).toMatchObject({ status: 503, code: 'not_owner', retriable: true, remoteName: 'NotOwnerError', node: 'a:1' });
    expect(notOwner.message).toBe('a:1 answered 503 not_owner: it is not_owner');
    expect(replyError('a:1', 400, body('invalid_object_id', false))).toMatchObject({ code: 'invalid_object_id', retriable: false });
    expect(replyError('a:1', 504, body('timeout', true))).toMatchObject({ code: 'timeout', retriable: true });
    expect(replyError('a:1', 503, body('aborted', false))).toMatchObject({ retriable: false });
  });

  it('reports a code it does not know as internal, keeping the name', () => {
    expect(replyError('a:1', 500, body('weird_code', false))).toMatchObject({ code: 'internal', remoteName: 'SomeError' });
  });

  it('treats a foreign 502/503/504 as retriable unavailability and anything else as internal', () => {
    for (const status of [502, 503, 504]) {
      expect(replyError('a:1', status, '<html>bad gateway</html>')).toMatchObject({ code: 'unavailable', retriable: true, status });
    }
    const e = replyError('a:1', 500, 'x'.repeat(1000));
    expect(e).toMatchObject({ code: 'internal', retriable: false });
    expect(e.message.length).toBeLessThan(300);
    expect(replyError('a:1', 500, '{"error":{"code":"x"}}')).toMatchObject({ code: 'internal', remoteName: 'HttpError' });
  });
});

describe('socketError', () => {
  it('is a retriable NodeUnreachableError naming the node and the socket code', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const e = socketError('127.0.0.1:1', cause);
    expect(e).toMatchObject({ retriable: true, code: 'unavailable', node: '127.0.0.1:1', socketCode: 'ECONNREFUSED', cause });
    expect(e.message).toBe('cannot reach node 127.0.0.1:1 (ECONNREFUSED)');
    expect(socketError('n:1', 'odd').socketCode).toBeNull();
  });
});

describe('CallTimeoutError', () => {
  it('says what was called, where it went, how often, and the last cause', () => {
    const cause = replyError('a:1', 503, body('not_owner', true));
    const e = new CallTimeoutError({ operation: 'call', type: 'Counter', id: 'c1', method: 'add', shard: 7, node: 'a:1', attempts: 4, elapsedMs: 1000.4 }, cause);
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.message).toBe(
      'call Counter/c1.add (shard 7, last node a:1): deadline passed after 4 attempts in 1000 ms; last error: a:1 answered 503 not_owner: it is not_owner',
    );
    expect(e.cause).toBe(cause);
    expect(e.trace.shard).toBe(7);
  });
});
