import { describe, expect, it } from 'vitest';
import { Keyspace, parseShardId } from '../../../../src/core/keyspace/keys.js';
import { MAX_ADDRESS_LENGTH, memberAddressProblem } from '../../../../src/core/keyspace/nodeAddress.js';
import { DEFAULT_VALUE_BOUND, LARGE_VALUE_BOUND, oversizeReason, utf8Length, valueBound } from '../../../../src/core/keyspace/valueBounds.js';

describe('shard IDs in keys', () => {
  it('accepts only the canonical decimal spelling of a shard in range', () => {
    expect(parseShardId('0', 8192)).toBe(0);
    expect(parseShardId('7', 8192)).toBe(7);
    expect(parseShardId('8191', 8192)).toBe(8191);
    for (const alias of ['+7', '007', '-0', ' 7', '7 ', '0x7', '7.0', '1e3', '', '٧', '-1']) {
      expect(parseShardId(alias, 8192), alias).toMatch(/not a canonical decimal number/);
    }
    expect(parseShardId('8192', 8192)).toMatch(/out of range \[0, 8192\)/);
    expect(parseShardId('99999999999999999999999', 8192)).toMatch(/out of range/);
  });

  it('classifies alias keys of shards, migrations and release requests as malformed', () => {
    const keys = new Keyspace('/p');
    for (const dir of ['shard', 'migration', 'release-request']) {
      expect(keys.classify(`/p/${dir}/7`, 64)).toMatchObject({ shardId: 7 });
      expect(keys.classify(`/p/${dir}/+7`, 64)).toMatchObject({ kind: 'malformed' });
      expect(keys.classify(`/p/${dir}/007`, 64)).toMatchObject({ kind: 'malformed' });
    }
  });
});

describe('member addresses', () => {
  it('accepts host:port addresses of printable ASCII, as upstream nodes advertise them', () => {
    for (const ok of ['127.0.0.1:47001', 'node-1.svc.cluster.local:48000', 'localhost:1', '[::1]:48000', 'a_b:65535']) {
      expect(memberAddressProblem(ok), ok).toBeNull();
    }
  });

  it('refuses anything else, saying why', () => {
    const cases: [string, RegExp][] = [
      ['a', /host:port/],
      ['a:0', /host:port with a port in 1..65535/],
      ['a:65536', /host:port/],
      [':48000', /host:port/],
      ['a:+1', /host:port/],
      ['a b:1', /printable ASCII/],
      ['a\u001b]0;x\u0007:1', /printable ASCII/],
      ['é:1', /printable ASCII/],
      ['a,b:1', /contains ","/],
      ['f=x:1', /starts with "f="/],
      [`${'h'.repeat(MAX_ADDRESS_LENGTH)}:1`, /at most 255/],
    ];
    for (const [address, reason] of cases) expect(memberAddressProblem(address), address).toMatch(reason);
    expect(memberAddressProblem(`${'h'.repeat(MAX_ADDRESS_LENGTH - 2)}:1`)).toBeNull();
  });

  it('makes keys of every node-keyed directory with a bad address malformed', () => {
    const keys = new Keyspace('/p');
    for (const dir of ['nodes', 'gates', 'nodeinfo', 'load', 'drain']) {
      expect(keys.classify(`/p/${dir}/n:1`, 64)).toMatchObject({ address: 'n:1' });
      expect(keys.classify(`/p/${dir}/${'x'.repeat(100_000)}:1`, 64)).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/at most 255/) });
    }
  });
});

describe('value bounds', () => {
  it('counts UTF-8 bytes', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
    expect(utf8Length('\ud800')).toBe(3); // a lone surrogate is written as U+FFFD
  });

  it('bounds node keys and small records at 64 KiB, load reports and the balancer status at 1 MiB', () => {
    expect(valueBound('node')).toBe(DEFAULT_VALUE_BOUND);
    expect(valueBound('shard')).toBe(64 * 1024);
    expect(valueBound('load')).toBe(LARGE_VALUE_BOUND);
    expect(valueBound('balancer-status')).toBe(1024 * 1024);
    expect(oversizeReason('x'.repeat(64 * 1024), DEFAULT_VALUE_BOUND)).toBeNull();
    expect(oversizeReason('x'.repeat(100_000), DEFAULT_VALUE_BOUND)).toBe('value of 97.7 KiB exceeds the 64 KiB bound');
    expect(oversizeReason('€'.repeat(30_000), DEFAULT_VALUE_BOUND)).toMatch(/87.9 KiB/);
  });
});
