import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { flagDefinitions, flagsFromOptions } from '../../../../src/core/config/flags.js';
import { resolveConfig } from '../../../../src/core/config/resolve.js';
import type { ConfigScope } from '../../../../src/core/config/settings.js';

/** Parses argv the way a binary does: options generated from the table, no commander defaults. */
function parse(scope: ConfigScope, argv: string[]) {
  const program = new Command().exitOverride().option('--config <file>');
  for (const def of flagDefinitions(scope)) program.option(def.flags, def.description);
  program.parse(argv, { from: 'user' });
  return flagsFromOptions(program.opts(), scope);
}

describe('flags', () => {
  it('declares each binary its own options with placeholders and help', () => {
    const node = flagDefinitions('node').map((d) => d.flags);
    expect(node).toEqual(expect.arrayContaining(['--num-shards <n>', '--etcd <list>', '--listen <value>', '--fast-shutdown', '--log-level <debug|info|warn|error>']));
    expect(node).not.toContain('-r, --refresh <duration>');
    const cli = flagDefinitions('cli');
    expect(cli.map((d) => d.flags)).toEqual(expect.arrayContaining(['-r, --refresh <duration>', '--no-color', '-o, --output <table|json>', '--user <value>']));
    expect(cli.map((d) => d.flags)).not.toContain('--listen <value>');
    expect(cli.find((d) => d.name === 'etcdTimeout')?.description).toMatch(/\(env GOVERSE_ETCD_TIMEOUT; default 5s\)$/);
  });

  it('maps commander options back to settings, leaving off what was not given', () => {
    const flags = parse('cli', ['--config', 'x.yaml', '--num-shards', '64', '--etcd', 'a:1,b:2', '-r', '5', '--no-color', '-o', 'json', '--read-only']);
    expect(flags).toEqual({ numShards: '64', etcdEndpoints: 'a:1,b:2', refresh: '5', noColor: true, output: 'json', readOnly: true });
    expect(parse('cli', [])).toEqual({});
    const { config, sources } = resolveConfig({ scope: 'cli', env: { GOVERSE_NUM_SHARDS: '128' }, flags });
    expect(config).toMatchObject({ numShards: 64, etcdEndpoints: ['a:1', 'b:2'], refresh: 5000, noColor: true, output: 'json', readOnly: true });
    expect(sources.numShards).toBe('flag');
  });

  it('reports bad flag values through the resolver, naming the flag', () => {
    const flags = parse('node', ['--num-shards', '-5', '--listen', ':1']);
    expect(() => resolveConfig({ scope: 'node', env: {}, flags })).toThrow('flag --num-shards: invalid value "-5": expected an integer from 1 to 1048576');
  });
});
