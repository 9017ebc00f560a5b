import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../../src/core/errors.js';
import { formatShardValue, parseShardValue, withPinned } from '../../../../src/core/keyspace/shardValue.js';

describe('shard value codec (docs/UPSTREAM.md §2, §14.4)', () => {
  it('formats the vectors', () => {
    expect(formatShardValue({ target: 'node1', current: 'node1', flags: ['pinned'] })).toBe('node1,node1,f=pinned');
    expect(formatShardValue({ target: 'node2', current: '', flags: ['pinned', 'readonly'] })).toBe('node2,,f=pinned,f=readonly');
    expect(formatShardValue({ target: '', current: '', flags: [] })).toBe(',');
    expect(formatShardValue({ target: 'a', current: 'b', flags: [' x ', ''] })).toBe('a,b,f=x');
  });

  it('parses the vectors', () => {
    expect(parseShardValue('node1').value).toEqual({ target: 'node1', current: '', flags: [] });
    expect(parseShardValue('').value).toEqual({ target: '', current: '', flags: [] });
    expect(parseShardValue('f=pinned, a , b').value).toEqual({ target: 'a', current: 'b', flags: ['pinned'] });
    expect(parseShardValue('a,b,f=')).toMatchObject({ value: { target: 'a', current: 'b', flags: [] }, warnings: ['empty flag ignored'] });
    const extra = parseShardValue('a,b,c');
    expect(extra.value).toEqual({ target: 'a', current: 'b', flags: [] });
    expect(extra.warnings[0]).toMatch(/extra node parts/);
    expect(parseShardValue('n1:1,,f=pinned,f=zz-unknown').value.flags).toEqual(['pinned', 'zz-unknown']);
  });

  const address = fc.stringMatching(/^[a-z0-9.:-]{0,12}$/).filter((s) => !s.startsWith('f='));
  const flag = fc.stringMatching(/^[a-z0-9=_-]{1,8}$/);

  it('round-trips byte for byte for every canonical value', () => {
    fc.assert(
      fc.property(address, address, fc.array(flag, { maxLength: 4 }), (target, current, flags) => {
        const raw = formatShardValue({ target, current, flags });
        const parsed = parseShardValue(raw);
        expect(parsed.value).toEqual({ target, current, flags });
        expect(formatShardValue(parsed.value)).toBe(raw);
      }),
    );
  });

  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.string(), (raw) => void parseShardValue(raw)));
  });

  it('refuses addresses the format cannot hold', () => {
    expect(() => formatShardValue({ target: 'a,b', current: '', flags: [] })).toThrow(InvalidArgumentError);
    expect(() => formatShardValue({ target: 'f=x', current: '', flags: [] })).toThrow(InvalidArgumentError);
    expect(() => formatShardValue({ target: '', current: ' a', flags: [] })).toThrow(InvalidArgumentError);
  });

  it('pins and unpins keeping other flags', () => {
    const v = { target: 'a', current: 'a', flags: ['x', 'pinned', 'y'] };
    expect(withPinned(v, false).flags).toEqual(['x', 'y']);
    expect(withPinned(withPinned(v, false), true).flags).toEqual(['x', 'y', 'pinned']);
  });
});
