import type { FlagValues } from './resolve.js';
import { defaultText, inScope, SETTING_NAMES, SETTINGS, type ConfigScope, type SettingName, type SettingSpec } from './settings.js';

/** A setting's command-line option, ready for commander's `option(flags, description)`. */
export interface FlagDefinition {
  readonly name: SettingName;
  /** `-r, --refresh <duration>`; booleans take no argument. */
  readonly flags: string;
  readonly description: string;
}

const PLACEHOLDER: Readonly<Record<SettingSpec<unknown>['type']['kind'], string>> = {
  int: '<n>',
  float: '<number>',
  duration: '<duration>',
  string: '<value>',
  list: '<list>',
  bool: '',
  enum: '<value>',
  objects: '',
};

function placeholder(spec: SettingSpec<unknown>): string {
  if (spec.type.choices !== undefined) return ` <${spec.type.choices.join('|')}>`;
  return PLACEHOLDER[spec.type.kind] === '' ? '' : ` ${PLACEHOLDER[spec.type.kind]}`;
}

/** Commander's attribute for a long flag: `--num-shards` is `numShards`, `--no-color` is `color` (false when given). */
function attribute(flag: string): string {
  return flag.replace(/^--(no-)?/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The options a binary declares, generated from the settings table so that names, help and docs never drift.
 * Declare them without commander defaults: an option left off must stay undefined for the precedence to work.
 */
export function flagDefinitions(scope: ConfigScope): FlagDefinition[] {
  return SETTING_NAMES.filter((name) => SETTINGS[name].flag !== undefined && inScope(name, scope)).map((name) => {
    const spec = SETTINGS[name] as SettingSpec<unknown>;
    const short = spec.shortFlag === undefined ? '' : `${spec.shortFlag}, `;
    const env = spec.env === undefined ? '' : `env ${spec.env}; `;
    const def = defaultText(name);
    return {
      name,
      flags: `${short}${spec.flag}${placeholder(spec)}`,
      description: `${spec.description} (${env}default ${def === '' ? 'none' : def})`,
    };
  });
}

/** Picks the settings' flags out of commander's parsed options (`program.opts()`), ignoring every other option. */
export function flagsFromOptions(options: Readonly<Record<string, unknown>>, scope: ConfigScope): FlagValues {
  const out: Partial<Record<SettingName, unknown>> = {};
  for (const name of SETTING_NAMES) {
    const flag = SETTINGS[name].flag;
    if (flag === undefined || !inScope(name, scope)) continue;
    const value = options[attribute(flag)];
    if (flag.startsWith('--no-')) {
      if (value === false) out[name] = true;
    } else if (value !== undefined) {
      out[name] = value;
    }
  }
  return out;
}
