import { describe, expect, it } from 'vitest';
import { createLogger, MemorySink } from '../../../src/core/log/logger.js';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { buildSnapshot, type Kv } from '../../../src/core/snapshot/snapshot.js';
import { UpstreamNotice } from '../../../src/node/upstreamNotice.js';

let rev = 1;
const kv = (key: string, value: string): Kv => ({ key: `/p/${key}`, value, modRevision: rev, createRevision: rev++, lease: key.startsWith('nodes/') || key.startsWith('gates/') ? '1' : '0' });
const info = (address: string): Kv =>
  kv(`nodeinfo/${address}`, encodeRecord({ nodeId: address, opsUrl: '', apiUrl: `http://${address}`, version: '1', weight: 1, startedAt: 0, state: 'running' }));

/** `me:1` is a goverse-node; `shards` say who owns each of four shards. */
function cluster(options: { upstreamNodes?: string[]; gates?: string[]; shards: string[] }) {
  const nodes = ['me:1', ...(options.upstreamNodes ?? [])];
  return buildSnapshot(
    '/p',
    4,
    [
      ...nodes.map((n) => kv(`nodes/${n}`, n)),
      info('me:1'),
      ...(options.gates ?? []).map((g) => kv(`gates/${g}`, g)),
      ...options.shards.map((owner, id) => kv(`shard/${id}`, `${owner},${owner}`)),
    ],
    rev++,
  );
}

describe('UpstreamNotice', () => {
  it('warns when this node holds shards beside upstream callers, again when they change, and once when it is over', () => {
    const sink = new MemorySink();
    const notice = new UpstreamNotice('me:1', createLogger(sink, 'debug'));
    const lines = () => sink.records.map((r) => [r.level, r.msg, r.upstreamNodes, r.upstreamGates, r.shards]);
    notice.observe(cluster({ shards: ['me:1', 'me:1', 'me:1', 'me:1'] }));
    expect(lines()).toEqual([]);
    notice.observe(cluster({ upstreamNodes: ['up:1'], shards: ['me:1', 'up:1', 'up:1', 'up:1'] }));
    expect(lines()).toEqual([
      ['warn', 'this node holds shards in a cluster with upstream Goverse gates or nodes: their object calls cannot reach it', ['up:1'], [], 1],
    ]);
    // More shards, same upstream members: nothing new to say.
    notice.observe(cluster({ upstreamNodes: ['up:1'], shards: ['me:1', 'me:1', 'up:1', 'up:1'] }));
    expect(sink.records).toHaveLength(1);
    // A gate joins: said again.
    notice.observe(cluster({ upstreamNodes: ['up:1'], gates: ['g:1'], shards: ['me:1', 'me:1', 'up:1', 'up:1'] }));
    expect(lines()[1]).toEqual(['warn', expect.any(String), ['up:1'], ['g:1'], 2]);
    // It holds nothing any more: once.
    notice.observe(cluster({ upstreamNodes: ['up:1'], gates: ['g:1'], shards: ['up:1', 'up:1', 'up:1', 'up:1'] }));
    notice.observe(cluster({ upstreamNodes: ['up:1'], gates: ['g:1'], shards: ['up:1', 'up:1', 'up:1', 'up:1'] }));
    expect(lines().slice(2)).toEqual([['info', 'no longer holding shards that upstream gates or nodes cannot call', undefined, undefined, undefined]]);
  });
});
