import { CLUSTER_SETTINGS } from './settings/cluster.js';
import { CONSOLE_SETTINGS } from './settings/console.js';
import { HISTORY_SETTINGS } from './settings/history.js';
import { NODE_SETTINGS } from './settings/node.js';
import { PLACEMENT_SETTINGS } from './settings/placement.js';
import { POSTGRES_SETTINGS } from './settings/postgres.js';
import { RUNTIME_SETTINGS } from './settings/runtime.js';
import type { ConfigScope, GoverseConfig, SettingName, SettingSpec } from './settings/spec.js';

export { MAX_SHARDS } from './settings/cluster.js';
export { ADMIN_TOKEN_MIN_LENGTH } from './settings/node.js';
export type {
  ConfigScope,
  DbSynchronous,
  GoverseConfig,
  LoadMetric,
  OutputFormat,
  SettingGroup,
  SettingName,
  SettingSpec,
} from './settings/spec.js';

/**
 * Every setting of both binaries: flag, environment variable, YAML key, validation, default and docs. Declared by
 * group in settings/, joined here in table order.
 */
export const SETTINGS: { readonly [K in SettingName]: SettingSpec<GoverseConfig[K]> } = {
  ...CLUSTER_SETTINGS,
  ...PLACEMENT_SETTINGS,
  ...HISTORY_SETTINGS,
  ...RUNTIME_SETTINGS,
  ...NODE_SETTINGS,
  ...POSTGRES_SETTINGS,
  ...CONSOLE_SETTINGS,
};

/** Table order: derived defaults may read only the settings before them. */
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

export function inScope(name: SettingName, scope: ConfigScope): boolean {
  const usedBy = SETTINGS[name].usedBy;
  return usedBy === 'both' || usedBy === scope;
}

/** How an operator sets a setting, for messages: `--flag, GOVERSE_X, yaml.key` (the forms it has). */
export function settingLabel(name: SettingName): string {
  const spec = SETTINGS[name];
  return [spec.flag, spec.env, spec.yaml].filter((s) => s !== undefined).join(', ');
}

/** The default as the docs and `--help` show it. */
export function defaultText(name: SettingName): string {
  const spec = SETTINGS[name] as SettingSpec<unknown>;
  if (spec.defaultText !== undefined) return spec.defaultText;
  return 'default' in spec ? spec.type.format(spec.default) : '';
}
