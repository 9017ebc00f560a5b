import { describe, expect, it } from 'vitest';
import { isLoopbackHost, isWildcardHost } from '../../../../src/core/config/addresses.js';

describe('host classes', () => {
  it('knows the loopback hosts, without resolving names', () => {
    for (const host of ['localhost', 'LocalHost', 'node.localhost', '127.0.0.1', '127.255.0.9', '[::1]', '::1', '[0:0:0:0:0:0:0:1]']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['', '0.0.0.0', '[::]', '10.0.0.5', 'node1', 'localhost.example.com', '127.0.0.1.nip.io', '[::2]', '[1::1]', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('knows the wildcard hosts', () => {
    expect(['', '0.0.0.0', '[::]'].every(isWildcardHost)).toBe(true);
    expect(['127.0.0.1', 'localhost', '::'].some(isWildcardHost)).toBe(false);
  });
});
