import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildSnapshot, type ClusterChange, type Kv } from '../../../../src/core/snapshot/snapshot.js';
import { diffSnapshots } from '../../../../src/core/snapshot/diff.js';

const P = '/p';
const kv = (key: string, value: string, modRevision: number): Kv => ({
  key,
  value,
  modRevision,
  createRevision: modRevision,
  lease: /^\/p\/(nodes|gates)\//.test(key) ? '1' : '0', // members register under a lease
});
const snap = (kvs: Kv[], revision = 100) => buildSnapshot(P, 16, kvs, revision);
const identity = (c: ClusterChange): string => {
  switch (c.kind) {
    case 'shard':
      return `shard ${c.id}`;
    case 'migration':
    case 'release-request':
      return `${c.kind} ${c.shardId}`;
    case 'malformed':
      return `malformed ${c.key}`;
    case 'leader':
      return `leader ${c.before}->${c.after}`;
    case 'pause':
    case 'balancer':
    case 'shard-count':
      return c.kind;
    default:
      return `${c.kind} ${c.address}`;
  }
};

const info = JSON.stringify({ nodeId: 'n', opsUrl: 'http://o', apiUrl: 'http://a', version: '1', weight: 1, startedAt: 1, state: 'running' });
const pause = JSON.stringify({ until: 5, by: 'me', at: 1, reason: 'r' });

describe('diffSnapshots', () => {
  it('reports nothing for two reads of the same state', () => {
    const kvs = [kv('/p/shard/1', 'a,a', 5), kv('/p/nodes/a:1', 'a:1', 6), kv('/p/leader', 'a:1', 7), kv('/p/nodeinfo/a:1', info, 8)];
    expect(diffSnapshots(snap(kvs, 10), snap(kvs, 20))).toEqual([]);
  });

  it('reports every kind of change, as the watch reducer names them', () => {
    const before = snap([
      kv('/p/shard/1', 'a,a', 5),
      kv('/p/shard/2', 'a,a', 5),
      kv('/p/nodes/a:1', 'a:1', 6),
      kv('/p/gates/g:1', 'g:1', 6),
      kv('/p/leader', 'a:1', 7),
      kv('/p/nodeinfo/a:1', info, 8),
      kv('/p/rebalance/pause', pause, 9),
      kv('/p/shard/99', 'x,y', 9),
    ]);
    const after = snap([
      kv('/p/shard/1', 'b,a', 15),
      kv('/p/shard/3', 'c,', 16),
      kv('/p/nodes/b:1', 'b:1', 17),
      kv('/p/gates/g:1', 'g:1', 6),
      kv('/p/leader', 'b:1', 18),
      kv('/p/nodeinfo/a:1', info, 19),
      kv('/p/migration/3', JSON.stringify({ since: 1, target: 'c', from: '' }), 20),
    ]);
    const changes = diffSnapshots(before, after);
    expect(changes.map(identity).sort()).toEqual(
      [
        'shard 1',
        'shard 2',
        'shard 3',
        'node-joined b:1',
        'node-left a:1',
        'leader a:1->b:1',
        'nodeinfo a:1',
        'migration 3',
        'pause',
        'malformed /p/shard/99',
      ].sort(),
    );
    const shard1 = changes.find((c) => c.kind === 'shard' && c.id === 1);
    expect(shard1).toMatchObject({ before: { raw: 'a,a', modRevision: 5 }, after: { raw: 'b,a', modRevision: 15 } });
  });

  it('treats a rewrite with the same value but a new revision (a wiped and refilled etcd) as a change', () => {
    const changes = diffSnapshots(snap([kv('/p/shard/1', 'a,a', 50)]), snap([kv('/p/shard/1', 'a,a', 3)], 3));
    expect(changes.map(identity)).toEqual(['shard 1']);
  });

  it('reports the same records in both directions, and nothing for equal states', () => {
    const entry = fc.record({
      key: fc.constantFrom('shard/0', 'shard/1', 'shard/2', 'nodes/a', 'nodes/b', 'leader', 'drain/a', 'shard/x'),
      value: fc.constantFrom('a', 'b', 'a,b', '{}'),
      rev: fc.integer({ min: 1, max: 4 }),
    });
    const state = fc.uniqueArray(entry, { selector: (e) => e.key }).map((es) => es.map((e) => kv(`/p/${e.key}`, e.value, e.rev)));
    fc.assert(
      fc.property(state, state, (a, b) => {
        const ab = diffSnapshots(snap(a), snap(b)).map(identity).map((s) => s.replace(/leader .*/, 'leader')).sort();
        const ba = diffSnapshots(snap(b), snap(a)).map(identity).map((s) => s.replace(/leader .*/, 'leader')).sort();
        expect(ab).toEqual(ba.map((s) => s.replace('joined', '\0').replace('left', 'joined').replace('\0', 'left')).sort());
        expect(diffSnapshots(snap(a), snap(a))).toEqual([]);
      }),
    );
  });
});
