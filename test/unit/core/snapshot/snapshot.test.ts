import { describe, expect, it } from 'vitest';
import { applyEvents, buildSnapshot, type Kv } from '../../../../src/core/snapshot/snapshot.js';

let rev = 0;
const kv = (key: string, value: string, lease = '0'): Kv => ({ key, value, modRevision: ++rev, createRevision: rev, lease });

describe('ClusterSnapshot', () => {
  it('builds from a range read and keeps sibling prefixes out', () => {
    const snap = buildSnapshot(
      '/goverse',
      64,
      [
        kv('/goverse/nodes/n1:1', 'n1:1', '7'),
        kv('/goverse/gates/g1:1', 'g1:1', '7'),
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
    expect(snap.malformed.get('/goverse/shard/abc')?.reason).toMatch(/not a canonical decimal number/);
    expect(snap.revision).toBe(rev);
  });

  it('applies events, reports changes and ignores replays', () => {
    const base = buildSnapshot('/p', 4, [kv('/p/shard/0', 'a:1,a:1'), kv('/p/nodes/a:1', 'a:1', '7')], rev);
    const put = kv('/p/shard/0', 'b:1,a:1');
    const { snapshot, changes } = applyEvents(
      base,
      [{ type: 'put', kv: put }, { type: 'put', kv: kv('/p/nodes/b:1', 'b:1', '7') }, { type: 'delete', key: '/p/nodes/a:1', modRevision: ++rev }],
      rev,
    );
    expect(snapshot.shards[0]).toMatchObject({ target: 'b:1', current: 'a:1', modRevision: put.modRevision });
    expect(changes.map((c) => c.kind)).toEqual(['shard', 'node-joined', 'node-left']);
    expect(base.shards[0]?.target).toBe('a:1'); // the old snapshot is untouched
    const replay = applyEvents(snapshot, [{ type: 'put', kv: { ...put, value: 'c,c' } }], rev);
    expect(replay.changes).toEqual([]);
    expect(replay.snapshot.shards[0]?.target).toBe('b:1');
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
    const l = kv('/p/leader', 'x:1');
    const s1 = applyEvents(base, [{ type: 'put', kv: l }], rev);
    expect(s1.snapshot.leader).toEqual({ address: 'x:1', modRevision: l.modRevision });
    expect(s1.changes).toEqual([{ kind: 'leader', before: null, after: 'x:1' }]);
  });

  it('never merges a non-canonical shard key into a real shard: it is malformed with its value and reason', () => {
    const real = kv('/p/shard/7', 'a:1,a:1');
    const snap = buildSnapshot(
      '/p',
      64,
      [real, kv('/p/shard/+7', 'evil:1,evil:1'), kv('/p/shard/007', 'x:1,y:1'), kv('/p/shard/-0', 'z:1,'), kv('/p/migration/07', '{}')],
      rev,
    );
    expect(snap.shards[7]).toMatchObject({ target: 'a:1', current: 'a:1', modRevision: real.modRevision });
    expect(snap.shards[0]).toBeUndefined();
    expect(snap.migrations.size).toBe(0);
    expect(snap.malformed.get('/p/shard/+7')).toEqual({
      key: '/p/shard/+7',
      raw: 'evil:1,evil:1',
      size: 13,
      modRevision: expect.any(Number),
      reason: 'shard ID "+7" is not a canonical decimal number',
    });
    expect([...snap.malformed.keys()].sort()).toEqual(['/p/migration/07', '/p/shard/+7', '/p/shard/-0', '/p/shard/007']);
    // A later write of an alias changes nothing but its report.
    const after = applyEvents(snap, [{ type: 'put', kv: kv('/p/shard/007', 'b:1,b:1') }], rev);
    expect(after.snapshot.shards[7]).toBe(snap.shards[7]);
    expect(after.changes).toEqual([{ kind: 'malformed', key: '/p/shard/007' }, { kind: 'malformed', key: '/p/shard/007' }]);
  });

  it('counts as members only leased keys whose value is their address; the others are reported', () => {
    const snap = buildSnapshot(
      '/p',
      4,
      [
        kv('/p/nodes/ok:1', 'ok:1', '7'),
        kv('/p/nodes/bogus:1', 'bogus:1'),
        kv('/p/nodes/liar:1', 'other:1', '7'),
        kv('/p/nodes/noport', 'noport', '7'),
        kv('/p/gates/g:1', 'g:1'),
      ],
      rev,
    );
    expect([...snap.nodes.keys()]).toEqual(['ok:1']);
    expect(snap.gates.size).toBe(0);
    expect(Object.fromEntries([...snap.malformed.values()].map((m) => [m.key, m.reason]))).toEqual({
      '/p/nodes/bogus:1': 'node key has no lease: not a live node',
      '/p/nodes/liar:1': 'node value differs from the address in the key',
      '/p/nodes/noport': 'address must be host:port with a port in 1..65535',
      '/p/gates/g:1': 'gate key has no lease: not a live gate',
    });
    // A member whose key is rewritten without its lease leaves; fixed, it joins again.
    const left = applyEvents(snap, [{ type: 'put', kv: kv('/p/nodes/ok:1', 'ok:1') }], rev);
    expect(left.snapshot.nodes.size).toBe(0);
    expect(left.changes.map((c) => c.kind)).toEqual(['node-left', 'malformed']);
    const back = applyEvents(left.snapshot, [{ type: 'put', kv: kv('/p/nodes/ok:1', 'ok:1', '9') }], rev);
    expect([...back.snapshot.nodes.keys()]).toEqual(['ok:1']);
    expect(back.snapshot.malformed.has('/p/nodes/ok:1')).toBe(false);
  });

  it('skips a value beyond its bound as malformed with its size, keeping only the start of it', () => {
    const huge = 'h'.repeat(100_000);
    const shard = kv('/p/shard/1', `${huge},${huge}`);
    const snap = buildSnapshot(
      '/p',
      4,
      [
        kv('/p/nodes/n:1', 'n:1', '7'),
        kv('/p/nodeinfo/n:1', huge, '7'),
        shard,
        kv('/p/leader', huge),
        kv(`/p/nodes/${huge}:1`, `${huge}:1`, '7'),
        kv('/p/load/n:1', JSON.stringify({ at: 1, cpu: null, rssBytes: null, shards: [], truncated: 0, pad: huge })),
      ],
      rev,
    );
    expect(snap.nodeInfo.size).toBe(0);
    expect(snap.load.size).toBe(1); // load reports may be larger
    expect(snap.malformed.get('/p/nodeinfo/n:1')).toMatchObject({ size: 100_000, reason: 'value of 97.7 KiB exceeds the 64 KiB bound' });
    expect(snap.malformed.get('/p/nodeinfo/n:1')!.raw).toHaveLength(512);
    // The shard key holds no usable mapping, but its revision lets the leader replace it.
    expect(snap.shards[1]).toMatchObject({ target: '', current: '', raw: '', modRevision: shard.modRevision });
    expect(snap.shards[1]!.warnings).toEqual(['value of 195.3 KiB exceeds the 64 KiB bound']);
    // A leader key naming nobody keeps its revision, so the election can replace it.
    expect(snap.leader).toMatchObject({ address: '' });
    expect(snap.malformed.get('/p/leader')!.reason).toMatch(/^leader value of/);
    expect([...snap.nodes.keys()]).toEqual(['n:1']);
    expect(snap.malformed.get(`/p/nodes/${huge}:1`)!.reason).toMatch(/at most 255/);
  });
});
