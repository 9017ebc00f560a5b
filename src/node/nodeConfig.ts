import { type Command } from 'commander';
import { flagDefinitions, flagsFromOptions } from '../core/config/flags.js';
import { type ResolvedConfig, resolveConfig } from '../core/config/resolve.js';
import type { GoverseConfig } from '../core/config/settings.js';
import { loadConfigFile } from '../edge/config/loadConfigFile.js';
import { withPasswordFile } from '../edge/config/passwordFile.js';

/** Declares goverse-node's settings on a command: `--config` and every node setting's flag. */
export function withNodeSettings(cmd: Command): Command {
  cmd.option('--config <file>', 'YAML configuration file (upstream format; env GOVERSE_CONFIG)');
  for (const f of flagDefinitions('node')) cmd.option(f.flags, f.description);
  return cmd;
}

/**
 * The node's configuration from its flags (commander's parsed options), the environment and the YAML file, with the
 * passwords read from their files. Throws ConfigError.
 */
export async function loadNodeConfig(
  opts: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ readonly config: GoverseConfig; readonly warnings: ResolvedConfig['warnings']; readonly sources: ResolvedConfig['sources'] }> {
  const path = (opts.config as string | undefined) ?? env.GOVERSE_CONFIG;
  const file = path === undefined || path === '' ? undefined : await loadConfigFile(path);
  const resolved = resolveConfig({ scope: 'node', env, flags: flagsFromOptions(opts, 'node'), ...(file ? { file } : {}) });
  return { config: await withPasswordFile(resolved.config), warnings: resolved.warnings, sources: resolved.sources };
}
