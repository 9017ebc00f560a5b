import { ConfigError } from '../errors.js';
import type { GoverseConfig, SettingName } from './settings/spec.js';

/**
 * The PostgreSQL database a node keeps its objects in, when it uses one: from `--postgres-url`
 * (`GOVERSE_POSTGRES_URL`), or from the YAML `postgres:` block as upstream Goverse reads it (`host`, `port`, `user`,
 * `password`, `database`, `sslmode`, `max_open_conns`, `max_idle_conns`). Without either the node uses SQLite.
 */
export const POSTGRES_SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type PostgresSslMode = (typeof POSTGRES_SSL_MODES)[number];

export interface PostgresTarget {
  readonly host: string;
  readonly port: number;
  /** Empty: the driver's default (the operating system user). */
  readonly user: string;
  /** Empty: none (trust or peer authentication). */
  readonly password: string;
  /** Empty: the server's default (the user's name). */
  readonly database: string;
  readonly sslmode: PostgresSslMode;
  /** Connections open at once at most (`max_open_conns`). */
  readonly maxOpenConns: number;
  /** Idle connections kept at most (`max_idle_conns`, never more than `maxOpenConns`). */
  readonly maxIdleConns: number;
}

/** What a `postgres://` URL names; `sslmode` only when the URL has the parameter. */
export interface PostgresUrl {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly sslmode: PostgresSslMode | undefined;
}

export const DEFAULT_POSTGRES_PORT = 5432;
export const POSTGRES_URL_FORM = 'a URL postgres://user@host[:port]/database[?sslmode=disable|require|verify-ca|verify-full]';

/** Parses a connection URL; the problem (never quoting the password) when it is not one we read. */
export function parsePostgresUrl(text: string): { readonly ok: true; readonly url: PostgresUrl } | { readonly ok: false; readonly problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, problem: 'not a URL' };
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return { ok: false, problem: `scheme ${url.protocol} is not postgres: or postgresql:` };
  if (url.hostname === '') return { ok: false, problem: 'no host' };
  if (url.hash !== '') return { ok: false, problem: 'a #fragment has no meaning here' };
  let sslmode: PostgresSslMode | undefined;
  for (const [key, value] of url.searchParams) {
    if (key !== 'sslmode') return { ok: false, problem: `unsupported parameter ${JSON.stringify(key)} (only sslmode)` };
    if (!(POSTGRES_SSL_MODES as readonly string[]).includes(value)) {
      return { ok: false, problem: `sslmode ${JSON.stringify(value)} is not one of ${POSTGRES_SSL_MODES.join(', ')}` };
    }
    sslmode = value as PostgresSslMode;
  }
  const path = url.pathname.replace(/^\//, '');
  if (path.includes('/')) return { ok: false, problem: 'the path names more than a database' };
  try {
    return {
      ok: true,
      url: {
        host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port === '' ? DEFAULT_POSTGRES_PORT : Number(url.port),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: decodeURIComponent(path),
        sslmode,
      },
    };
  } catch {
    return { ok: false, problem: 'a %-escape in the user, password or database is invalid' };
  }
}

/** The database the configuration names, or null for SQLite. Call after `checkPostgresSettings` passed. */
export function postgresTarget(config: GoverseConfig): PostgresTarget | null {
  const pool = { maxOpenConns: config.postgresMaxOpenConns, maxIdleConns: Math.min(config.postgresMaxIdleConns, config.postgresMaxOpenConns) };
  if (config.postgresUrl !== '') {
    const parsed = parsePostgresUrl(config.postgresUrl);
    if (!parsed.ok) return null;
    const { url } = parsed;
    return { ...url, password: url.password === '' ? config.postgresPassword : url.password, sslmode: url.sslmode ?? config.postgresSslmode, ...pool };
  }
  if (config.postgresHost === '') return null;
  return {
    host: config.postgresHost,
    port: config.postgresPort,
    user: config.postgresUser,
    password: config.postgresPassword,
    database: config.postgresDatabase,
    sslmode: config.postgresSslmode,
    ...pool,
  };
}

/** `postgres://user@host:port/database`: how messages and logs name a database (never with its password). */
export function postgresLocation(target: Pick<PostgresTarget, 'host' | 'port' | 'user' | 'database'>): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const user = target.user === '' ? '' : `${encodeURIComponent(target.user)}@`;
  return `postgres://${user}${host}:${target.port}/${encodeURIComponent(target.database)}`;
}

/** The settings of the `postgres:` block that say where the database is (the pool keys tune it, they select nothing). */
const BLOCK_KEYS: readonly SettingName[] = ['postgresPort', 'postgresUser', 'postgresDatabase', 'postgresSslmode'];

/**
 * The checks across PostgreSQL settings, given where each value came from (undefined: the default). The database is
 * named one way (the URL or the block, whose host is then required), its password one way, and never beside a
 * SQLite file or SQLite's sync policy. Returns warnings; throws ConfigError.
 */
export function checkPostgresSettings(config: GoverseConfig, origin: (setting: SettingName) => string | undefined, flagLabel: (setting: SettingName) => string): string[] {
  const warnings: string[] = [];
  const given = (s: SettingName): boolean => origin(s) !== undefined;
  const url = config.postgresUrl === '' ? null : parsePostgresUrl(config.postgresUrl);
  if (url !== null && url.ok && url.url.password !== '') {
    if (origin('postgresUrl')?.startsWith('flag ')) {
      warnings.push(
        `${flagLabel('postgresUrl')} carries the PostgreSQL password: other users can read it in the process list, and it stays in the shell history; ` +
          `use GOVERSE_POSTGRES_PASSWORD or ${flagLabel('postgresPasswordFile')} instead`,
      );
    }
    for (const other of ['postgresPassword', 'postgresPasswordFile'] as const) {
      if (given(other)) throw new ConfigError(origin(other)!, `the PostgreSQL password is also in ${origin('postgresUrl')}: give it one way only`);
    }
  }
  if (given('postgresPasswordFile') && given('postgresPassword')) {
    throw new ConfigError(origin('postgresPasswordFile')!, `the PostgreSQL password is also given by ${origin('postgresPassword')}: give it one way only`);
  }
  const selected = url !== null || config.postgresHost !== '';
  if (url !== null) {
    const block = ['postgresHost' as const, ...BLOCK_KEYS].find(given);
    if (block !== undefined) throw new ConfigError(origin(block)!, `the database is also named by ${origin('postgresUrl')}: give it one way, the URL or the postgres block`);
  } else if (!selected) {
    const orphan = [...BLOCK_KEYS, 'postgresMaxOpenConns' as const, 'postgresMaxIdleConns' as const].find(given);
    if (orphan !== undefined) throw new ConfigError(origin(orphan)!, `names no database to connect to: set postgres.host (or ${flagLabel('postgresUrl')})`);
  }
  if (!selected) return warnings;
  const where = origin('postgresUrl') ?? origin('postgresHost')!;
  if (given('dbPath')) throw new ConfigError(origin('dbPath')!, `the objects are in PostgreSQL (${where}): a SQLite file is not used beside it; give one store`);
  if (given('dbSynchronous')) {
    throw new ConfigError(origin('dbSynchronous')!, `applies to SQLite only: PostgreSQL (${where}) always commits synchronously (synchronous_commit on)`);
  }
  return warnings;
}
