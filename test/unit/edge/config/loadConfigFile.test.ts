import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../../src/edge/config/loadConfigFile.js';
import { ConfigError } from '../../../../src/core/errors.js';

describe('loadConfigFile', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('returns the path and the text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'goverse-config-'));
    dirs.push(dir);
    const path = join(dir, 'goverse.yaml');
    await writeFile(path, 'cluster:\n  shards: 64\n');
    expect(await loadConfigFile(path)).toEqual({ path, text: 'cluster:\n  shards: 64\n' });
  });

  it('refuses a missing file with a ConfigError naming it', async () => {
    const err = await loadConfigFile('/nonexistent/goverse.yaml').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe('/nonexistent/goverse.yaml: cannot read the config file: no such file');
  });
});
