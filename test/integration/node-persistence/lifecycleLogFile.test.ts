import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LifecycleLogFile } from '../../../src/node/objects/lifecycleLogFile.js';
import { startFixture } from './childProcess.js';
import { join, useTempDirs } from './tempDir.js';

const tempDir = useTempDirs();

describe('LifecycleLogFile', () => {
  it('keeps every completed line when the writing process is killed with SIGKILL', async () => {
    const path = join(tempDir(), 'events.jsonl');
    const writer = startFixture('lifecycleWriter', [path]);
    await writer.line(/^ready$/);
    writer.child.kill('SIGKILL');
    expect(await writer.exited).toBe('SIGKILL');

    const text = readFileSync(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const ids = text
      .slice(0, -1)
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids.length).toBeGreaterThanOrEqual(1000);
    expect(ids.every((id, n) => id === `c-${n}`)).toBe(true);
  });

  it('appends to an existing file and refuses to write once closed', () => {
    const path = join(tempDir(), 'events.jsonl');
    const event = { event: 'activated', reason: 'call', time: 1, node: 'n', type: 'T', id: 'x', shard: 1, epoch: 1 } as const;
    for (let i = 0; i < 2; i++) {
      const log = new LifecycleLogFile(path);
      log.record(event);
      log.close();
      expect(() => log.record(event)).toThrow(/closed/);
    }
    expect(readFileSync(path, 'utf8')).toBe(`${JSON.stringify(event)}\n`.repeat(2));
  });
});
