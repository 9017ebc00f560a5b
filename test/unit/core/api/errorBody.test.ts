import { describe, expect, it } from 'vitest';
import { replyError } from '../../../../src/client/retry.js';
import { errorBody, isErrorBody } from '../../../../src/core/api/errorBody.js';
import { NotOwnerError } from '../../../../src/core/errors.js';

describe('the error body contract', () => {
  it('what a node writes is what the client reads back: code, message, name and the retriable bit', () => {
    const body = errorBody(new NotOwnerError('shard 3 is served by b:1', 3));
    expect(body).toEqual({ error: { code: 'not_owner', message: 'shard 3 is served by b:1', retriable: true, name: 'NotOwnerError' } });
    expect(isErrorBody(JSON.parse(JSON.stringify(body)))).toBe(true);
    expect(replyError('a:1', 503, JSON.stringify(body))).toMatchObject({ code: 'not_owner', remoteName: 'NotOwnerError', retriable: true });
  });

  it('an error that is not ours is internal and not retriable', () => {
    expect(errorBody(new Error('boom'))).toEqual({ error: { code: 'internal', message: 'boom', retriable: false, name: 'Error' } });
    expect(errorBody('text')).toMatchObject({ error: { code: 'internal', message: 'text' } });
  });

  it('recognizes only bodies with a code, a message and a retriable bit', () => {
    expect(isErrorBody({ error: { code: 'x', message: 'y', retriable: false } })).toBe(true);
    for (const v of [null, 'x', {}, { error: 'x' }, { error: { code: 'x', message: 'y' } }, { error: { code: 1, message: 'y', retriable: true } }]) {
      expect(isErrorBody(v)).toBe(false);
    }
  });
});
