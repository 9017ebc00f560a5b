/**
 * `npm run bench -- <name> [args...]` runs bench/<name>.ts. Each benchmark module exports
 * `run(args: string[]): Promise<Record<string, unknown>>`; the runner prints progress from the benchmark on stderr
 * and the result as one JSON object on the last line of stdout.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'main.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (name === undefined || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name> [args]\nbenchmarks: ${available.join(', ')}\n`);
  process.exit(2);
}
const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as {
  run(args: string[]): Promise<Record<string, unknown>>;
};
const result = await mod.run(args);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
