import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { OperationResult } from '../../../src/core/operations/result.js';
import { withGlobalOptions } from '../../../src/cli/command.js';
import { globalOptions } from '../../../src/cli/context.js';
import type { GoverseClient } from '../../../src/client/index.js';
import { LoadGenerator, loadObjectId, ZipfSampler } from '../../../src/cli/demo/loadGenerator.js';
import { placeObject } from '../../../src/core/sharding/objectId.js';
import { Output } from '../../../src/cli/output.js';
import { outlookText, renderOperation } from '../../../src/cli/render.js';

function parsed(argv: string[]): Command {
  const program = withGlobalOptions(new Command('t').enablePositionalOptions().exitOverride());
  let leaf: Command | null = null;
  const grab = (_o: unknown, cmd: Command): void => void (leaf = cmd);
  withGlobalOptions(program.command('status')).action(grab);
  withGlobalOptions(program.command('stuck').option('--timeout <d>'), ['--timeout']).action(grab);
  program.parse(argv, { from: 'user' });
  return leaf!;
}

describe('global options', () => {
  it('merge the program\'s (before the subcommand) under the subcommand\'s own', () => {
    expect(globalOptions(parsed(['--etcd', 'a:1', '-o', 'json', 'status', '--etcd', 'b:1']))).toMatchObject({ etcd: 'b:1', output: 'json' });
  });

  it('keep --no-color given before the subcommand', () => {
    expect(globalOptions(parsed(['--no-color', 'status']))).toMatchObject({ color: false });
  });

  it('leave out a command option that shares a global name', () => {
    const leaf = parsed(['--timeout', '2s', 'stuck', '--timeout', '5m']);
    expect(globalOptions(leaf)).toMatchObject({ timeout: '2s' });
    expect(leaf.opts()).toMatchObject({ timeout: '5m' });
    expect(globalOptions(parsed(['stuck', '--timeout', '5m'])).timeout).toBeUndefined();
  });
});

function memoryOutput(format: 'table' | 'json'): { out: Output; text: () => string; notes: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => (o += c.toString()));
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  return { out: new Output(stdout, stderr, format, false), text: () => o, notes: () => e };
}

const base: OperationResult = { operation: 'pin', summary: 'pin 1 shard', dryRun: false, changes: [], skipped: [], conflicts: 0, failed: 0 };

describe('renderOperation', () => {
  it('prints key, old, new and the ModRevision compared, plain when colour is off', () => {
    const m = memoryOutput('table');
    const code = renderOperation(m.out, {
      ...base,
      changes: [{ id: 3, key: '/g/shard/3', old: 'a:1,a:1', new: 'a:1,a:1,f=pinned', modRevision: 42, written: true, outcome: 'written' }],
      skipped: [{ shardId: 4, reason: 'already pinned' }],
    });
    expect(code).toBe(0);
    expect(m.text()).toMatch(/\/g\/shard\/3 .*a:1,a:1 .*a:1,a:1,f=pinned .*42 .*written/);
    expect(m.text()).not.toContain('\u001b[');
    expect(m.notes()).toContain('skipped shard 4: already pinned');
  });

  it('exits 3 on a lost compare and 1 on a failed write', () => {
    const conflict = { id: 3, key: 'k', old: 'x', new: 'y', modRevision: 1, written: false, outcome: 'conflict' as const, found: 'z' };
    const m = memoryOutput('json');
    expect(renderOperation(m.out, { ...base, changes: [conflict], conflicts: 1 })).toBe(3);
    expect(JSON.parse(m.text())).toMatchObject({ schemaVersion: 1, changes: [{ outcome: 'conflict', found: 'z', written: false }] });
    const failed = { ...conflict, outcome: 'failed' as const, error: 'etcd down' };
    expect(renderOperation(memoryOutput('table').out, { ...base, changes: [failed], failed: 1 })).toBe(1);
  });

  it("warns when the balancer would move shards back, offering --pin and a pause; JSON carries the outlook", () => {
    const reassign: OperationResult = { ...base, operation: 'retarget', summary: 'retarget 5 shards to a:1' };
    const back = { strategy: 'count' as const, movedBack: [0, 1, 2, 3, 4], moves: 5, pausedUntil: null };
    const m = memoryOutput('table');
    expect(renderOperation(m.out, reassign, back)).toBe(0);
    expect(m.notes()).toContain('warning: the balancer (count) would move 5 shards of these back at once: 0-4 (5 moves in all');
    expect(m.notes()).toContain('keep them with --pin (pinned in the same write) or pause rebalancing first (goverse-top rebalance pause');
    const j = memoryOutput('json');
    renderOperation(j.out, reassign, { ...back, movedBack: [7], pausedUntil: Date.UTC(2026, 0, 1) });
    expect(JSON.parse(j.text())).toMatchObject({ balancer: { strategy: 'count', movedBack: [7], moves: 5, pausedUntil: Date.UTC(2026, 0, 1) } });
    expect(j.notes()).toContain('would move 1 shard of these back when the pause ends (2026-01-01T00:00:00.000Z): 7');
    expect(outlookText({ ...back, movedBack: [] })).toBe('note: the balancer (count) would then move 5 other shards at once, keeping these');
    expect(outlookText({ ...back, movedBack: [], moves: 0 })).toBeNull();
  });
});

describe('Output', () => {
  const evil = 'n\u001b]0;evil\u0007\u001b[2J\u009b31m\u202e\nforged';
  // eslint-disable-next-line no-control-regex -- the very characters that must not get through
  const raw = /[\u001b\u0007\u009b\u202e]/;

  it('shows strings from etcd escaped in tables, lines and notes, one line each', () => {
    const m = memoryOutput('table');
    m.out.table(['ADDRESS', 'ID'], [[evil, 1]]);
    m.out.line(`leader ${evil}`);
    m.out.note(`skipped ${evil}`);
    expect(m.text() + m.notes()).not.toMatch(raw);
    expect(m.text()).toContain('n\\x1b]0;evil\\x07\\x1b[2J\\u009b31m\\u202e\\x0aforged');
    expect(m.text().split('\n').filter((l) => l.startsWith('forged'))).toEqual([]);
    expect(m.notes()).toBe('skipped n\\x1b]0;evil\\x07\\x1b[2J\\u009b31m\\u202e\\x0aforged\n');
  });

  it('keeps the exact strings in JSON, escaped so that a terminal shows them inert', () => {
    const m = memoryOutput('json');
    m.out.json({ address: evil });
    m.out.jsonLine({ address: evil });
    expect(m.text()).not.toMatch(raw);
    const [pretty, line] = [m.text().slice(0, m.text().lastIndexOf('{')), m.text().slice(m.text().lastIndexOf('{'))];
    expect(JSON.parse(pretty)).toEqual({ schemaVersion: 1, address: evil });
    expect(JSON.parse(line)).toEqual({ schemaVersion: 1, address: evil });
  });
});

describe('ZipfSampler', () => {
  it('draws every rank in range, the first few far more often than the rest', () => {
    let seed = 42;
    const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const sampler = new ZipfSampler(2000, 1.1, random);
    const counts = new Int32Array(2000);
    for (let i = 0; i < 50_000; i++) counts[sampler.next()]!++;
    const top10 = counts.slice(0, 10).reduce((a, b) => a + b, 0);
    const last1000 = counts.slice(1000).reduce((a, b) => a + b, 0);
    expect(top10 / 50_000).toBeGreaterThan(0.3);
    expect(last1000 / 50_000).toBeLessThan(0.1);
    expect(counts[0]).toBeGreaterThan(counts[1]!);
  });
});

describe('LoadGenerator hot shard set', () => {
  it('names hashed objects by default and pins them to the hot shards in turn with `shards`', () => {
    expect(loadObjectId(7)).toBe('demo-7');
    expect(loadObjectId(7, [])).toBe('demo-7');
    const hot = [5, 17, 40];
    expect([0, 1, 2, 3, 4].map((rank) => loadObjectId(rank, hot))).toEqual(['shard#5/demo-0', 'shard#17/demo-1', 'shard#40/demo-2', 'shard#5/demo-3', 'shard#17/demo-4']);
    for (let rank = 0; rank < 30; rank++) expect(placeObject(loadObjectId(rank, hot), 64)).toEqual({ kind: 'shard', shardId: hot[rank % 3] });
  });

  it('calls only objects of the hot shard set', async () => {
    const hot = [3, 9];
    const ids: string[] = [];
    let fifty: () => void = () => {};
    const reached = new Promise<void>((resolve) => (fifty = resolve));
    const client = {
      call: (type: string, id: string): Promise<unknown> => {
        expect(type).toBe('Counter');
        if (ids.push(id) === 50) fifty();
        return Promise.resolve({ value: 1 });
      },
    } as unknown as GoverseClient;
    // Exponent 0: every object equally popular.
    const generator = new LoadGenerator(client, { objects: 20, ratePerSecond: 1e6, concurrency: 2, shards: hot }, new ZipfSampler(20, 0));
    generator.start();
    await reached;
    await generator.stop();
    expect(generator.ok).toBe(ids.length);
    expect(new Set(ids.map((id) => (placeObject(id, 16) as { shardId: number }).shardId))).toEqual(new Set(hot));
  });
});
