import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidObjectIdError } from '../../../../src/core/errors.js';
import { fnv1a32 } from '../../../../src/core/sharding/hash.js';
import { objectIdCharacterProblem, parseObjectId, placeObject, shardOfObject, validateObjectId } from '../../../../src/core/sharding/objectId.js';

// Vectors: docs/UPSTREAM.md §14.1.
const VECTORS: [string, number, number, number][] = [
  ['user-12345', 0x66746570, 1392, 48],
  ['session-abc', 0x8b28b8ca, 6346, 10],
  ['TestObject-10-0', 0x552f11d1, 4561, 17],
  ['', 0x811c9dc5, 7621, 5],
  ['a', 0xe40c292c, 2348, 44],
];

describe('fnv1a32 and shardOfObject', () => {
  it.each(VECTORS)('%s', (id, hash, mod8192, mod64) => {
    expect(fnv1a32(id)).toBe(hash);
    expect(shardOfObject(id, 8192)).toBe(mod8192);
    expect(shardOfObject(id, 64)).toBe(mod64);
  });

  it('applies the fixed-shard shortcut', () => {
    expect(fnv1a32('shard#5/object-123')).toBe(0xde2ca6d2);
    expect(shardOfObject('shard#5/object-123', 8192)).toBe(5);
    expect(shardOfObject('shard#5/object-123', 64)).toBe(5);
    // Out of range or malformed shortcuts hash the whole ID, as upstream.
    expect(shardOfObject('shard#8192/x', 8192)).toBe(fnv1a32('shard#8192/x') % 8192);
    expect(shardOfObject('shard#abc/x', 8192)).toBe(fnv1a32('shard#abc/x') % 8192);
  });

  it("finds upstream's test-helper IDs for 64 shards", () => {
    const first = (t: number) => {
      for (let i = 0; i < 10000; i++) if (shardOfObject(`TestObject-${t}-${i}`, 64) === t) return `TestObject-${t}-${i}`;
      return null;
    };
    expect(first(0)).toBe('TestObject-0-73');
    expect(first(10)).toBe('TestObject-10-5');
    expect(first(63)).toBe('TestObject-63-95');
  });

  it('hashes UTF-8 bytes, not UTF-16 units', () => {
    const bytes = new TextEncoder().encode('é🙂');
    let h = 0x811c9dc5;
    for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
    expect(fnv1a32('é🙂')).toBe(h);
  });

  it('always yields a shard in range', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 70000 }), (id, n) => {
        const s = shardOfObject(id, n);
        return Number.isInteger(s) && s >= 0 && s < n;
      }),
    );
  });
});

/** C0, DEL and C1, by code point. */
function isControl(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

describe('parseObjectId / validateObjectId (docs/UPSTREAM.md §14.2)', () => {
  it('parses the vectors', () => {
    expect(parseObjectId('user-1')).toEqual({ format: 'regular', id: 'user-1' });
    expect(parseObjectId('shard#5/object-123')).toMatchObject({ format: 'fixed-shard', shardId: 5, objectPart: 'object-123' });
    expect(parseObjectId('shard#5/a/b')).toMatchObject({ format: 'fixed-shard', shardId: 5, objectPart: 'a/b' });
    expect(parseObjectId('shard#-1/x')).toMatchObject({ format: 'fixed-shard', shardId: -1 });
    expect(parseObjectId('localhost:7001/client-123')).toMatchObject({ format: 'fixed-node', node: 'localhost:7001', objectPart: 'client-123' });
    expect(parseObjectId('a/b/c')).toMatchObject({ format: 'fixed-node', node: 'a', objectPart: 'b/c' });
    expect(parseObjectId('node/')).toMatchObject({ format: 'fixed-node', node: 'node', objectPart: '' });
    expect(parseObjectId('Shard#5/x')).toMatchObject({ format: 'fixed-node', node: 'Shard#5' });
    expect(parseObjectId('shard#+7/x')).toMatchObject({ format: 'fixed-shard', shardId: 7 });
  });

  it.each(['', 'shard#/x', 'shard#abc/x', 'shard# 5/x', 'shard#5', '/abc', 'shard#0x10/x', 'shard#99999999999999999999/x'])(
    'rejects %j with a typed error',
    (id) => {
      expect(() => parseObjectId(id)).toThrow(InvalidObjectIdError);
    },
  );

  it.each([
    ['a lone high surrogate', 'user-\ud800', /lone surrogate U\+D800 at index 5/],
    ['a lone high surrogate at the end of a pair position', 'x\ud83d', /lone surrogate U\+D83D at index 1/],
    ['a lone low surrogate', '\udc00x', /lone surrogate U\+DC00 at index 0/],
    ['reversed surrogates', '\ude42\ud83d', /lone surrogate U\+DE42/],
    ['NUL', 'a\u0000b', /control character U\+0000 at index 1/],
    ['ESC', 'a\u001b]0;x\u0007', /control character U\+001B/],
    ['a newline', 'a\nb', /control character U\+000A/],
    ['DEL', 'a\u007f', /control character U\+007F/],
    ['C1 (CSI)', '\u009b2J', /control character U\+009B at index 0/],
    ['C1 (NEL)', 'shard#5/\u0085', /control character U\+0085/],
    ['a control character in a fixed-node address', 'n1\u0000:7000/x', /control character U\+0000/],
  ])('rejects %s', (_what, id, reason) => {
    const err = (() => {
      try {
        placeObject(id, 8192);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidObjectIdError);
    expect((err as InvalidObjectIdError).message).toMatch(reason);
    // The message itself stays printable: the offending characters are escaped.
    expect([...(err as Error).message].some((ch) => isControl(ch) || /[\ud800-\udfff]/.test(ch))).toBe(false);
  });

  it('accepts well-formed non-ASCII IDs: surrogate pairs, accents, U+00A0 and above', () => {
    expect(objectIdCharacterProblem('user-é🙂\u00a0中')).toBeNull();
    expect(placeObject('🙂', 8192)).toEqual({ kind: 'shard', shardId: fnv1a32('🙂') % 8192 });
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (id) => {
        const bad = [...id].some(isControl);
        return (objectIdCharacterProblem(id) === null) === !bad;
      }),
    );
  });

  it('refuses exactly the IDs that are not well-formed UTF-16 or hold a control character (any code unit)', () => {
    const roundTrips = (id: string): boolean => new TextDecoder().decode(new TextEncoder().encode(id)) === id;
    const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 8 }), (id) => {
        const ok = roundTrips(id) && ![...id].some(isControl);
        return (objectIdCharacterProblem(id) === null) === ok;
      }),
      { numRuns: 2000 },
    );
  });

  it('validates the fixed-shard range', () => {
    expect(() => validateObjectId('shard#64/x', 64)).toThrow(/out of range/);
    expect(validateObjectId('shard#64/x', 8192)).toMatchObject({ shardId: 64 });
    expect(() => validateObjectId('shard#-1/x', 8192)).toThrow(InvalidObjectIdError);
    expect(validateObjectId('shard#5/object-123', 64)).toMatchObject({ shardId: 5 });
  });

  it('places objects', () => {
    expect(placeObject('user-12345', 8192)).toEqual({ kind: 'shard', shardId: 1392 });
    expect(placeObject('shard#5/x', 8192)).toEqual({ kind: 'shard', shardId: 5 });
    expect(placeObject('n1:7000/x', 8192)).toEqual({ kind: 'node', node: 'n1:7000' });
  });

  it('never throws anything but InvalidObjectIdError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `shard#${s}`)), (id) => {
        try {
          validateObjectId(id, 8192);
        } catch (err) {
          return err instanceof InvalidObjectIdError;
        }
        return true;
      }),
    );
  });
});
