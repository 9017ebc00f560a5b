import { describe, expect, it } from 'vitest';
import { createLogger, MemorySink } from '../../../src/core/log/logger.js';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { buildSnapshot, type Kv } from '../../../src/core/snapshot/snapshot.js';
import { UpstreamNotice } from '../../../src/node/upstreamNotice.js';

let rev = 1;
const kv = (key: string, value: string): Kv => ({ key: `/p/${key}`, value, modRevision: rev, createRevision: rev++, lease: '0' });
const info = (address: string): Kv =>
  kv(`nodeinfo/${address}`, encodeRecord({ nodeId: address, opsUrl: '', apiUrl: `http://${address}`, version: '1', weight: 1, startedAt: 0, state: 'running' }));

/** `me` is a goverse-node; `shards` say who owns each of four shards. */
function cluster(options: { upstreamNodes?: string[]; gates?: string[]; shards: string[] }) {
  const nodes = ['me', ...(options.upstreamNodes ?? [])];
  return buildSnapshot(
    '/p',
    4,
    [
      ...nodes.map((n) => kv(`nodes/${n}`, n)),
      info('me'),
      ...(options.gates ?? []).map((g) => kv(`gates/${g}`, g)),
      ...options.shards.map((owner, id) => kv(`shard/${id}`, `${owner},${owner}`)),
    ],
    rev++,
  );
}

describe('UpstreamNotice', () => {
  it('warns when this node holds shards beside upstream callers, again when they change, and once when it is over', () => {
    const sink = new MemorySink();
    const notice = new UpstreamNotice('me', createLogger(sink, 'debug'));
    const lines = () => sink.records.map((r) => [r.level, r.msg, r.upstreamNodes, r.upstreamGates, r.shards]);
    notice.observe(cluster({ shards: ['me', 'me', 'me', 'me'] }));
    expect(lines()).toEqual([]);
    notice.observe(cluster({ upstreamNodes: ['up'], shards: ['me', 'up', 'up', 'up'] }));
    expect(lines()).toEqual([
      ['warn', 'this node holds shards in a cluster with upstream Goverse gates or nodes: their object calls cannot reach it', ['up'], [], 1],
    ]);
    // More shards, same upstream members: nothing new to say.
    notice.observe(cluster({ upstreamNodes: ['up'], shards: ['me', 'me', 'up', 'up'] }));
    expect(sink.records).toHaveLength(1);
    // A gate joins: said again.
    notice.observe(cluster({ upstreamNodes: ['up'], gates: ['g'], shards: ['me', 'me', 'up', 'up'] }));
    expect(lines()[1]).toEqual(['warn', expect.any(String), ['up'], ['g'], 2]);
    // It holds nothing any more: once.
    notice.observe(cluster({ upstreamNodes: ['up'], gates: ['g'], shards: ['up', 'up', 'up', 'up'] }));
    notice.observe(cluster({ upstreamNodes: ['up'], gates: ['g'], shards: ['up', 'up', 'up', 'up'] }));
    expect(lines().slice(2)).toEqual([['info', 'no longer holding shards that upstream gates or nodes cannot call', undefined, undefined, undefined]]);
  });
});
