import { describe, expect, it } from 'vitest';
import { applyEvents, buildSnapshot, type Kv } from '../../../src/core/snapshot/snapshot.js';

let rev = 0;
const kv = (key: string, value: string, lease = '0'): Kv => ({ key, value, modRevision: ++rev, createRevision: rev, lease });

describe('ClusterSnapshot', () => {
  it('builds from a range read and keeps sibling prefixes out', () => {
    const snap = buildSnapshot(
      '/goverse',
      64,
      [
        kv('/goverse/nodes/n1:1', 'n1:1', '7'),
        kv('/goverse/gates/g1:1', 'g1:1'),
        kv('/goverse/leader', 'n1:1'),
        kv('/goverse/shard/0', 'n1:1,n1:1,f=pinned'),
        kv('/goverse/shard/1', 'n1:1'),
        kv('/goverse/shard/abc', 'x,y'),
        kv('/goverse/shard/64', 'x,y'),
        kv('/goverse/nodeinfo/n1:1', '{bad'),
        kv('/goverse-test/shard/2', 'zz,zz'),
        kv('/goverse/something/else', 'ignored'),
      ],
      rev,
    );
    expect([...snap.nodes.keys()]).toEqual(['n1:1']);
    expect(snap.nodes.get('n1:1')?.lease).toBe('7');
    expect([...snap.gates.keys()]).toEqual(['g1:1']);
    expect(snap.leader?.address).toBe('n1:1');
    expect(snap.shards[0]).toMatchObject({ target: 'n1:1', current: 'n1:1', flags: ['pinned'] });
    expect(snap.shards[1]).toMatchObject({ target: 'n1:1', current: '' });
    expect(snap.shards[2]).toBeUndefined();
    expect([...snap.malformed.keys()].sort()).toEqual(['/goverse/nodeinfo/n1:1', '/goverse/shard/64', '/goverse/shard/abc']);
    expect(snap.malformed.get('/goverse/shard/abc')?.reason).toMatch(/not an integer/);
    expect(snap.revision).toBe(rev);
  });

  it('applies events, reports changes and ignores replays', () => {
    const base = buildSnapshot('/p', 4, [kv('/p/shard/0', 'a,a'), kv('/p/nodes/a', 'a')], rev);
    const put = kv('/p/shard/0', 'b,a');
    const { snapshot, changes } = applyEvents(
      base,
      [{ type: 'put', kv: put }, { type: 'put', kv: kv('/p/nodes/b', 'b') }, { type: 'delete', key: '/p/nodes/a', modRevision: ++rev }],
      rev,
    );
    expect(snapshot.shards[0]).toMatchObject({ target: 'b', current: 'a', modRevision: put.modRevision });
    expect(changes.map((c) => c.kind)).toEqual(['shard', 'node-joined', 'node-left']);
    expect(base.shards[0]?.target).toBe('a'); // the old snapshot is untouched
    const replay = applyEvents(snapshot, [{ type: 'put', kv: { ...put, value: 'c,c' } }], rev);
    expect(replay.changes).toEqual([]);
    expect(replay.snapshot.shards[0]?.target).toBe('b');
  });

  it('clears a malformed entry once the key is fixed or deleted', () => {
    const base = buildSnapshot('/p', 4, [kv('/p/migration/1', 'nope')], rev);
    expect(base.malformed.size).toBe(1);
    const fixed = applyEvents(base, [{ type: 'put', kv: kv('/p/migration/1', '{"since":1,"target":"a","from":"b"}') }], rev).snapshot;
    expect(fixed.malformed.size).toBe(0);
    expect(fixed.migrations.get(1)).toMatchObject({ since: 1, target: 'a' });
  });

  it('tracks the leader with its revision', () => {
    const base = buildSnapshot('/p', 4, [], rev);
    const l = kv('/p/leader', 'x');
    const s1 = applyEvents(base, [{ type: 'put', kv: l }], rev);
    expect(s1.snapshot.leader).toEqual({ address: 'x', modRevision: l.modRevision });
    expect(s1.changes).toEqual([{ kind: 'leader', before: null, after: 'x' }]);
  });
});
