import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

// The lint rules of eslint.config.js that hold the structure (docs/ARCHITECTURE.md, Layers): fixture sources are
// linted as if they lived at the given path under src/, so each case names the file it pretends to be.
const root = fileURLToPath(new URL('../../../', import.meta.url));
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: root });
});

async function problems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${path}` });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId !== '@typescript-eslint/no-unused-vars')
    .map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layer zones', () => {
  it.each([
    ['src/core/planner/x.ts', "import { EtcdClient } from '../../edge/etcd/client.js';", 'src/core'],
    ['src/core/planner/x.ts', "import type { ClusterMember } from '../../cluster/member.js';", 'src/core'],
    ['src/core/x.ts', "export * from '../node/node.js';", 'src/core'],
    ['src/core/config/x.ts', "import { readFileSync } from 'node:fs';", 'src/core'],
    ['src/core/config/x.ts', "import { readFileSync } from 'fs';", 'src/core'],
    ['src/core/x.ts', "import { VERSION } from '../version.js';", 'src/core'],
    ['src/edge/etcd/x.ts', "import { ClusterMember } from '../../cluster/member.js';", 'src/edge'],
    ['src/cluster/x.ts', "import { GoverseNode } from '../node/node.js';", 'src/cluster'],
    ['src/cluster/x.ts', "import { Etcd3 } from 'etcd3';", 'etcd3'],
    ['src/cluster/x.ts', "import { startEtcd } from '../../test/harness/etcd.js';", 'src/cluster'],
    ['src/console/model/x.ts', "import { ClusterMember } from '../../cluster/member.js';", 'src/console'],
    ['src/console/model/x.ts', "const m = await import('../../cluster/member.js');", 'src/console'],
    ['src/client/x.ts', "import { JsonValue } from '../node/objects/json.js';", 'src/client'],
    ['src/node/objects/x.ts', "import { runConsole } from '../../console/main.js';", 'src/node'],
    ['src/cli/x.ts', "const path = './console/main.js'; await import(path);", 'string literal'],
  ])('%s: %s is an error', async (path, code, named) => {
    const found = await problems(path, code);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(named);
  });

  it.each([
    ['src/core/planner/x.ts', "import { Keyspace } from '../keyspace/keys.js';"],
    ['src/core/config/x.ts', "import YAML from 'yaml';"],
    ['src/edge/etcd/x.ts', "import { Etcd3 } from 'etcd3';"],
    ['src/cluster/x.ts', "import { ShardWriter } from '../edge/etcd/shardWriter.js';"],
    ['src/node/objects/x.ts', "import { ClusterMember } from '../../cluster/member.js';"],
    ['src/console/x.ts', "import { ClusterOperations } from '../edge/operations/clusterOperations.js';"],
    ['src/cli/commands/x.ts', "const { runConsole } = await import('../../console/main.js');"],
    ['src/cli/x.ts', "import { VERSION } from '../version.js';"],
  ])('%s: %s is allowed', async (path, code) => {
    expect(await problems(path, code)).toEqual([]);
  });

  it('covers every folder of src/', async () => {
    const folders = readdirSync(`${root}src`, { withFileTypes: true }).filter((e) => e.isDirectory());
    expect(folders.length).toBeGreaterThan(5);
    for (const folder of folders) {
      const config = (await eslint.calculateConfigForFile(`${root}src/${folder.name}/a/b/x.ts`)) as {
        rules?: Record<string, unknown>;
      };
      expect(config.rules?.['no-restricted-imports'], folder.name).toBeDefined();
    }
  });
});

describe('sizes in src/', () => {
  it('fails a file over 450 lines, blank lines and comments included', async () => {
    const lines = ['export const a = 1;', ...Array.from({ length: 449 }, (_, i) => (i % 2 ? '' : '// note'))];
    expect(await problems('src/core/x.ts', lines.join('\n'))).toEqual([]);
    expect(await problems('src/core/x.ts', [...lines, '// note'].join('\n'))).toEqual([
      'max-lines: File has too many lines (451). Maximum allowed is 450.',
    ]);
  });

  it('fails a function over 80 lines, blank lines and comments included', async () => {
    const fn = (body: number) =>
      ['export function f(): number {', ...Array.from({ length: body }, (_, i) => (i % 2 ? '' : '  // note')), '  return 1;', '}'];
    expect(await problems('src/core/x.ts', fn(77).join('\n'))).toEqual([]);
    expect(await problems('src/core/x.ts', fn(78).join('\n'))).toEqual([
      "max-lines-per-function: Function 'f' has too many lines (81). Maximum allowed is 80.",
    ]);
  });
});
