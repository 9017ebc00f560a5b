import { describe, expect, it } from 'vitest';
import { createLogger, MemorySink } from '../../../src/core/log/logger.js';
import { buildSnapshot, type Kv } from '../../../src/core/snapshot/snapshot.js';
import { LocalStoreNotice } from '../../../src/node/localStoreNotice.js';

let rev = 1;
const member = (address: string): Kv => ({ key: `/p/nodes/${address}`, value: address, modRevision: rev, createRevision: rev++, lease: '1' });
const members = (...addresses: string[]) => buildSnapshot('/p', 4, addresses.map(member), rev++);

describe('LocalStoreNotice', () => {
  it('warns when members advertise other hosts, once per host, never for members on its own host', () => {
    const sink = new MemorySink();
    const notice = new LocalStoreNotice('10.0.0.1:48000', '/var/lib/goverse.sqlite', createLogger(sink, 'debug'));
    const lines = () => sink.records.map((r) => [r.level, r.members]);
    notice.observe(members('10.0.0.1:48000', '10.0.0.1:48001'));
    expect(lines()).toEqual([]);
    notice.observe(members('10.0.0.1:48000', '10.0.0.2:48000', '10.0.0.2:48001', 'NODE-B.internal:1'));
    expect(lines()).toEqual([['warn', ['10.0.0.2:48000', 'NODE-B.internal:1']]]);
    expect(sink.records[0]!.msg).toBe(
      "object database /var/lib/goverse.sqlite is SQLite, one file per machine, but members advertise other hosts than this node's 10.0.0.1: " +
        'objects whose shards move between machines come up without their state',
    );
    // The same hosts again (another port, another case) say nothing new; a new host does.
    notice.observe(members('10.0.0.1:48000', '10.0.0.2:48002', 'node-b.internal:2'));
    notice.observe(members('10.0.0.1:48000', '[fd00::3]:48000'));
    expect(lines()).toEqual([
      ['warn', ['10.0.0.2:48000', 'NODE-B.internal:1']],
      ['warn', ['[fd00::3]:48000']],
    ]);
  });
});
