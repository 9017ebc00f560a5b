import { InternalError } from '../errors.js';
import { resolveConfig } from './resolve.js';
import { defaultText, SETTING_NAMES, SETTINGS, type SettingGroup, type SettingName } from './settings.js';

const GROUP_TITLES: Readonly<Record<SettingGroup, string>> = {
  cluster: 'Cluster',
  node: 'Node (goverse-node)',
  logging: 'Logging',
  console: 'Console and scripted subcommands (goverse-top)',
};

const READ_BY = { both: 'both', node: 'goverse-node', cli: 'goverse-top' } as const;

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function code(text: string | undefined): string {
  return text === undefined || text === '' ? '—' : `\`${text}\``;
}

/** `nodes[<id>].x`: read from the entry the node ID selects; the id key itself is what selects it. */
function yamlKey(name: SettingName): string | undefined {
  const yaml = SETTINGS[name].yaml;
  return yaml === 'nodes[].id' ? yaml : yaml?.replace('nodes[]', 'nodes[<id>]');
}

function row(name: SettingName): string {
  const spec = SETTINGS[name];
  const flag = spec.flag === undefined ? undefined : spec.shortFlag === undefined ? spec.flag : `${spec.shortFlag}, ${spec.flag}`;
  const yaml = yamlKey(name);
  const env = spec.envPresence ? `${code(spec.env)} (any non-empty value)` : code(spec.env);
  // Values are code; a described default (`defaultText`) is prose.
  const def = spec.defaultText ?? code(defaultText(name));
  const cells = [code(name), env, code(yaml), code(flag), def, spec.type.expected, READ_BY[spec.usedBy], spec.description];
  return `| ${cells.map(cell).join(' | ')} |`;
}

/** The real message for a typical mistake, so the docs quote the loader exactly. */
function exampleError(): string {
  try {
    resolveConfig({ scope: 'node', env: { GOVERSE_STABILITY_DURATION: '10' } });
  } catch (err) {
    return (err as Error).message;
  }
  throw new InternalError('GOVERSE_STABILITY_DURATION=10 was accepted');
}

/** docs/CONFIGURATION.md, generated from the settings table so that the docs cannot drift from the loader. */
export function renderConfigurationDoc(): string {
  const out: string[] = [
    '# Configuration',
    '',
    '<!-- Generated from src/core/config/settings.ts by renderConfigurationDoc(). Do not edit by hand:',
    '     `npm run docs` rewrites this file after the table changes. -->',
    '',
    'Both binaries, `goverse-node` and `goverse-top`, read their settings through one loader. Precedence, lowest',
    'first: built-in defaults, the YAML file given with `--config`, environment variables, command-line flags.',
    '',
    'Every value given is validated, even one that a stronger source overrides, so a typo never hides. An invalid',
    'value stops start-up with a message that names its source (`flag --num-shards`,',
    '`env GOVERSE_NUM_SHARDS` or `<file>:cluster.shards`) and the accepted form, for example:',
    '',
    '```',
    exampleError(),
    '```',
    '',
    '## Values',
    '',
    '- Durations are Go-style: `500ms`, `10s`, `1m`, `1m30s`, `1.5s`, `2h`, or `0`; units `ns`, `us`, `ms`, `s`, `m`, `h`.',
    '  A bare YAML number is refused (except `0`): upstream Go would read `10` as ten nanoseconds.',
    '- Integers are digits with an optional sign: `12abc`, `1e3` and `1.0` are refused.',
    '- Booleans: `true`/`false`, `1`/`0`, `yes`/`no`, in any case.',
    '- Lists are comma-separated in the environment and in flags (entries are trimmed, empty entries refused) and',
    '  YAML lists in the file.',
    '- An environment variable set to the empty string counts as unset.',
    '',
    '## The YAML file',
    '',
    'The file has upstream Goverse\'s format (`version: 1`, `cluster`, `nodes`, ...), so one file can serve both.',
    '`version`, when present, must be 1 and `cluster.provider`, when present, must be `etcd`. Keys this project does',
    'not know are reported as warnings and ignored; the upstream sections `postgres`, `inspector`, `gates`,',
    '`object_access_rules` and `object_lifecycle_rules` are ignored without a warning. A malformed file is an error',
    'naming the file and line.',
    '',
    'goverse-node takes its node settings (`nodes[<id>].x` below) from the `nodes` entry whose `id` is the node ID',
    '(`--node-id` or `GOVERSE_NODE_ID`); with a single entry the node ID may be left out. goverse-top reads only',
    '`cluster`.',
    '',
    '```yaml',
    'version: 1',
    'cluster:',
    '  shards: 8192',
    '  provider: etcd',
    '  etcd:',
    '    endpoints: ["127.0.0.1:2379"]',
    '    prefix: /goverse',
    '  cluster_state_stability_duration: 10s',
    '  auto_load_objects:',
    '    - { type: Counter, id: global }',
    '    - { type: Counter, id: local, per_node: true }',
    'nodes:',
    '  - { id: node1, grpc_addr: ":50051", advertise_addr: "127.0.0.1:50051", http_addr: ":8080", weight: 2 }',
    '```',
    '',
    '## Settings',
    '',
    'Durations are shown in the same form they are written. "Read by" says which binary reads the setting; the other',
    'ignores its variable, key and flag.',
  ];
  for (const group of Object.keys(GROUP_TITLES) as SettingGroup[]) {
    out.push('', `### ${GROUP_TITLES[group]}`, '');
    out.push('| Setting | Environment | YAML key | Flag | Default | Accepted | Read by | Description |');
    out.push('|---|---|---|---|---|---|---|---|');
    for (const name of SETTING_NAMES) if (SETTINGS[name].group === group) out.push(row(name));
  }
  out.push('');
  return out.join('\n');
}

const README_BEGIN = '<!-- settings:begin (generated by `npm run docs` from src/core/config/settings.ts) -->';
const README_END = '<!-- settings:end -->';

/** The README's compact mapping of every setting: environment variable, flag, YAML key and default. */
export function renderSettingsSummary(): string {
  const out = ['| Environment | Flag | YAML key | Default | Read by |', '|---|---|---|---|---|'];
  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name];
    const def = spec.defaultText ?? code(defaultText(name));
    out.push(`| ${[code(spec.env), code(spec.flag), code(yamlKey(name)), def, READ_BY[spec.usedBy]].map(cell).join(' | ')} |`);
  }
  return out.join('\n');
}

/** `readme` with the text between the settings markers replaced by the current summary. */
export function withSettingsSummary(readme: string): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin < 0 || end < begin) throw new InternalError(`README.md lacks the markers ${README_BEGIN} ... ${README_END}`);
  return `${readme.slice(0, begin + README_BEGIN.length)}\n${renderSettingsSummary()}\n${readme.slice(end)}`;
}
