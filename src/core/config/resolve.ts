import { ConfigError, InvalidArgumentError } from '../errors.js';
import { isLoopbackHost, splitHostPort } from './addresses.js';
import { checkPostgresSettings } from './postgres.js';
import { inScope, SETTING_NAMES, SETTINGS, settingLabel, type ConfigScope, type GoverseConfig, type SettingName, type SettingSpec } from './settings.js';
import { readConfigFile, type ConfigFileText, type NodeSelector } from './yamlFile.js';

export type SettingSource = 'default' | 'file' | 'env' | 'flag';

/** Flag values by setting name, only those given on the command line (see `flagsFromOptions`). */
export type FlagValues = Readonly<Partial<Record<SettingName, unknown>>>;

export interface ResolveOptions {
  readonly scope: ConfigScope;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly flags?: FlagValues;
  readonly file?: ConfigFileText;
  /** Replace built-in defaults (tests, the demo); still lowest precedence and reported as `default`. */
  readonly defaults?: Partial<GoverseConfig>;
}

export interface ResolvedConfig {
  readonly config: GoverseConfig;
  readonly sources: Readonly<Record<SettingName, SettingSource>>;
  /** Worth logging, never fatal: unknown YAML keys, YAML warnings. */
  readonly warnings: readonly string[];
}

interface Given {
  readonly raw: unknown;
  readonly kind: Exclude<SettingSource, 'default'>;
  /** Named in errors: `flag --num-shards`, `env GOVERSE_NUM_SHARDS`, `<file>:cluster.shards`. */
  readonly source: string;
  readonly line?: number | undefined;
}

const RANK: Readonly<Record<SettingSource, number>> = { default: 0, file: 1, env: 2, flag: 3 };

function show(raw: unknown, secret: boolean): string {
  if (raw === undefined) return 'missing value';
  if (secret) return 'invalid value (not shown)';
  let text: string;
  try {
    text = JSON.stringify(raw) ?? String(raw);
  } catch {
    // A YAML alias can make a value refer to itself.
    text = String(raw);
  }
  return `invalid value ${text.length > 80 ? `${text.slice(0, 77)}...` : text}`;
}

function parseGiven<T>(spec: SettingSpec<T>, given: Given): T {
  const parsed = spec.type.parse(given.raw);
  if (parsed.ok) return parsed.value;
  const source = parsed.at === undefined ? given.source : `${given.source}${parsed.at.path}`;
  const shown = show(parsed.at === undefined ? given.raw : parsed.at.value, spec.secret === true);
  const line = given.line === undefined ? '' : ` (line ${given.line})`;
  throw new ConfigError(source, `${shown}: expected ${parsed.expected ?? spec.type.expected}${line}`);
}

function flagGiven(name: string, raw: unknown, scope: ConfigScope): Given {
  // These are bugs in a binary's flag wiring, not user input.
  if (!Object.hasOwn(SETTINGS, name)) throw new InvalidArgumentError(`unknown setting ${JSON.stringify(name)}`);
  const spec = SETTINGS[name as SettingName] as SettingSpec<unknown>;
  if (spec.flag === undefined) throw new InvalidArgumentError(`setting ${name} has no flag`);
  if (!inScope(name as SettingName, scope)) throw new InvalidArgumentError(`setting ${name} is not used by the ${scope} binary`);
  return { raw, kind: 'flag', source: `flag ${spec.flag}` };
}

function envGiven(name: SettingName, env: ResolveOptions['env']): Given | undefined {
  const spec = SETTINGS[name];
  if (spec.env === undefined) return undefined;
  const raw = env[spec.env];
  // An empty variable counts as unset, as shells make `X= cmd` the usual way to clear one.
  if (raw === undefined || raw === '') return undefined;
  return { raw: spec.envPresence ? true : raw, kind: 'env', source: `env ${spec.env}` };
}

/**
 * Resolves every setting: defaults < YAML file < environment < flags. Every value given is validated, even one a
 * higher source overrides, so a typo never hides until the day the override is removed. Throws ConfigError naming
 * the source and the accepted form.
 */
export function resolveConfig(options: ResolveOptions): ResolvedConfig {
  const { scope } = options;
  const layers = new Map<SettingName, Given[]>(SETTING_NAMES.map((name) => [name, []]));
  for (const [key, raw] of Object.entries(options.flags ?? {})) {
    const given = flagGiven(key, raw, scope);
    if (raw !== undefined) layers.get(key as SettingName)!.push(given);
  }
  for (const name of SETTING_NAMES) {
    const given = inScope(name, scope) ? envGiven(name, options.env) : undefined;
    if (given !== undefined) layers.get(name)!.push(given);
  }

  const warnings: string[] = [];
  if (options.file !== undefined) {
    const read = readConfigFile(options.file, scope, nodeSelector(layers.get('nodeId')!));
    warnings.push(...read.warnings);
    for (const [name, value] of read.values) layers.get(name)!.push({ ...value, kind: 'file' });
  }

  const config: Record<string, unknown> = {};
  const sources = {} as Record<SettingName, SettingSource>;
  const origins = new Map<SettingName, string>();
  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name] as SettingSpec<unknown>;
    // Parse all first: validation must not depend on which source wins.
    const candidates = layers.get(name)!.map((given) => ({ given, value: parseGiven(spec, given) }));
    const winner = candidates.reduce<(typeof candidates)[number] | undefined>(
      (best, c) => (best === undefined || RANK[c.given.kind] > RANK[best.given.kind] ? c : best),
      undefined,
    );
    if (winner !== undefined) {
      config[name] = winner.value;
      sources[name] = winner.given.kind;
      origins.set(name, winner.given.source);
    } else {
      const override = options.defaults?.[name];
      config[name] = override !== undefined ? override : 'derive' in spec ? spec.derive(config as unknown as GoverseConfig) : spec.default;
      sources[name] = 'default';
    }
  }
  splitUserPassword(config, sources, origins, warnings);
  checkPasswordSources(config as unknown as GoverseConfig, origins);
  checkTls(config as unknown as GoverseConfig, origins);
  checkShardWriteRetry(config as unknown as GoverseConfig, origins);
  if (scope === 'node') {
    checkReachable(config as unknown as GoverseConfig, origins);
    warnings.push(...checkPostgresSettings(config as unknown as GoverseConfig, (s) => origins.get(s), (s) => SETTINGS[s].flag ?? SETTINGS[s].env ?? s));
  }
  return { config: config as unknown as GoverseConfig, sources, warnings };
}

/** The node ID from flags or environment picks the file's `nodes` entry; a bad one is reported as itself. */
function nodeSelector(given: readonly Given[]): NodeSelector | undefined {
  const best = [...given].sort((a, b) => RANK[b.kind] - RANK[a.kind])[0];
  return best === undefined ? undefined : { id: parseGiven(SETTINGS.nodeId, best), source: best.source };
}

/**
 * `--user name:secret` (etcdctl's form) sets the password too, unless the password came from a stronger source. A
 * password in a flag is readable by every user of the machine (`ps`) and stays in the shell history: it works, with
 * a warning that names the alternatives.
 */
function splitUserPassword(
  config: Record<string, unknown>,
  sources: Record<SettingName, SettingSource>,
  origins: Map<SettingName, string>,
  warnings: string[],
): void {
  const user = config.etcdUser as string;
  const colon = user.indexOf(':');
  if (colon < 0) return;
  config.etcdUser = user.slice(0, colon);
  if (sources.etcdUser === 'flag') {
    warnings.push(
      `${SETTINGS.etcdUser.flag} carries the etcd password: other users can read it in the process list, and it stays in the shell history; ` +
        `use ${SETTINGS.etcdPassword.env}, ${SETTINGS.etcdPasswordFile.flag} or the prompt instead`,
    );
  }
  if (RANK[sources.etcdUser] > RANK[sources.etcdPassword]) {
    config.etcdPassword = user.slice(colon + 1);
    sources.etcdPassword = sources.etcdUser;
    origins.set('etcdPassword', originOf(origins, 'etcdUser'));
  }
}

/**
 * A node that listens on loopback only but advertises another address registers an address its peers and clients
 * would dial in vain: refused, rather than a node that joins the cluster and fails every call routed to it.
 */
function checkReachable(config: GoverseConfig, origins: ReadonlyMap<SettingName, string>): void {
  const listen = splitHostPort(config.listen);
  const advertise = splitHostPort(config.advertise);
  if (listen === undefined || advertise === undefined || !isLoopbackHost(listen.host) || isLoopbackHost(advertise.host)) return;
  throw new ConfigError(
    originOf(origins, 'listen'),
    `listen address ${config.listen} accepts loopback connections only, but the node advertises ${config.advertise} ` +
      `(${originOf(origins, 'advertise')}): peers and clients dialling it could not connect; listen on ` +
      `:${listen.port} (all interfaces) or on the interface of ${advertise.host}`,
  );
}

/** Where a setting's value came from, for errors: `flag --x`, `env GOVERSE_X`, `file.yaml:key`. */
function originOf(origins: ReadonlyMap<SettingName, string>, setting: SettingName): string {
  return origins.get(setting) ?? `default ${setting}`;
}

/** A password file and a password given another way would leave it to chance which one etcd gets. */
function checkPasswordSources(config: GoverseConfig, origins: ReadonlyMap<SettingName, string>): void {
  if (config.etcdPasswordFile === '' || config.etcdPassword === '') return;
  throw new ConfigError(
    originOf(origins, 'etcdPasswordFile'),
    `the etcd password is also given by ${originOf(origins, 'etcdPassword')}: give it one way only`,
  );
}

function checkTls(config: GoverseConfig, origins: ReadonlyMap<SettingName, string>): void {
  const origin = (setting: SettingName): string => originOf(origins, setting);
  const { etcdCaFile: ca, etcdCertFile: cert, etcdKeyFile: key } = config;
  if ((cert === '') !== (key === '')) {
    const [given, missing] = cert === '' ? (['etcdKeyFile', 'etcdCertFile'] as const) : (['etcdCertFile', 'etcdKeyFile'] as const);
    throw new ConfigError(origin(given), `a client certificate needs both the certificate and its key: also set ${settingLabel(missing)}`);
  }
  if (cert !== '' && ca === '') {
    throw new ConfigError(origin('etcdCertFile'), `a client certificate needs the CA file too: set ${settingLabel('etcdCaFile')}`);
  }
}

/**
 * Where a setting was set explicitly, as errors name it (`flag --num-shards`, `env GOVERSE_NUM_SHARDS`, `config file
 * key cluster.shards`), or null when it has its default.
 */
export function explicitSource(name: SettingName, sources: ResolvedConfig['sources']): string | null {
  const spec = SETTINGS[name];
  switch (sources[name]) {
    case 'flag':
      return `flag ${spec.flag}`;
    case 'env':
      return `env ${spec.env}`;
    case 'file':
      return `config file key ${spec.yaml}`;
    case 'default':
      return null;
  }
}

/**
 * An attempt set longer than the whole write, or a first backoff set above the longest, is a contradiction, not a
 * tuning. Only the shorter value given explicitly is refused: a default above a lowered bound is simply cut to it
 * (an attempt never outlasts the deadline, a backoff never exceeds its maximum).
 */
function checkShardWriteRetry(config: GoverseConfig, origins: ReadonlyMap<SettingName, string>): void {
  const pairs = [
    ['shardWriteAttemptTimeout', 'shardWriteDeadline', 'the write deadline'],
    ['shardWriteBackoff', 'shardWriteBackoffMax', 'the longest backoff'],
  ] as const;
  for (const [lesser, greater, what] of pairs) {
    if (!origins.has(lesser) || config[lesser] <= config[greater]) continue;
    throw new ConfigError(
      originOf(origins, lesser),
      `${SETTINGS[lesser].type.format(config[lesser])} (${settingLabel(lesser)}) is longer than ${what}, ` +
        `${SETTINGS[greater].type.format(config[greater])} (${settingLabel(greater)}): raise ${what} or lower the other`,
    );
  }
}
