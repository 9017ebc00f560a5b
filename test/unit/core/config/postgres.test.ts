import { describe, expect, it } from 'vitest';
import { parsePostgresUrl, postgresLocation, postgresTarget } from '../../../../src/core/config/postgres.js';
import { resolveConfig, type ResolveOptions } from '../../../../src/core/config/resolve.js';
import { ConfigError } from '../../../../src/core/errors.js';

const resolve = (options: Partial<ResolveOptions>) => resolveConfig({ scope: 'node', env: {}, ...options });
const file = (text: string) => ({ path: 'goverse.yaml', text });

function refusal(options: Partial<ResolveOptions>): string {
  try {
    resolve(options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parsePostgresUrl', () => {
  it('reads user, password, host, port, database and sslmode, %-escapes decoded', () => {
    expect(parsePostgresUrl('postgres://app:p%40ss@db.internal:6543/objects?sslmode=verify-full')).toEqual({
      ok: true,
      url: { host: 'db.internal', port: 6543, user: 'app', password: 'p@ss', database: 'objects', sslmode: 'verify-full' },
    });
    expect(parsePostgresUrl('postgresql://[::1]/d')).toEqual({ ok: true, url: { host: '::1', port: 5432, user: '', password: '', database: 'd', sslmode: undefined } });
  });

  it('refuses what it would have to guess at, never quoting a password', () => {
    const problem = (s: string) => {
      const r = parsePostgresUrl(s);
      return r.ok ? null : r.problem;
    };
    expect(problem('db.internal:5432')).toMatch(/scheme db.internal: is not postgres: or postgresql:|not a URL/);
    expect(problem('mysql://h/d')).toBe('scheme mysql: is not postgres: or postgresql:');
    expect(problem('postgres:///d')).toBe('no host');
    expect(problem('postgres://h/d?sslmode=prefer')).toBe('sslmode "prefer" is not one of disable, require, verify-ca, verify-full');
    expect(problem('postgres://u:secret@h/d?application_name=x')).toBe('unsupported parameter "application_name" (only sslmode)');
    expect(problem('postgres://h/d/e')).toBe('the path names more than a database');
    expect(problem('postgres://u:%zz@h/d')).toBe('a %-escape in the user, password or database is invalid');
  });
});

describe('postgresLocation', () => {
  it('names a database without its password', () => {
    expect(postgresLocation({ host: 'h', port: 5432, user: 'u', database: 'd' })).toBe('postgres://u@h:5432/d');
    expect(postgresLocation({ host: '::1', port: 1, user: '', database: '' })).toBe('postgres://[::1]:1/');
  });
});

describe('PostgreSQL settings', () => {
  it('the YAML postgres block selects PostgreSQL, with upstream\'s keys; without it the node keeps SQLite', () => {
    expect(postgresTarget(resolve({}).config)).toBeNull();
    const { config } = resolve({
      file: file('postgres:\n  host: db\n  port: 6000\n  user: app\n  password: pw\n  database: objs\n  sslmode: require\n  max_open_conns: 8\n  max_idle_conns: 20\n'),
    });
    expect(postgresTarget(config)).toEqual({
      host: 'db',
      port: 6000,
      user: 'app',
      password: 'pw',
      database: 'objs',
      sslmode: 'require',
      maxOpenConns: 8,
      // Never more idle than open, as upstream's pool.
      maxIdleConns: 8,
    });
  });

  it('the URL selects it too, its password from the environment or the URL; a password in a URL flag is warned about', () => {
    const fromEnv = resolve({ env: { GOVERSE_POSTGRES_URL: 'postgres://app@db/objs', GOVERSE_POSTGRES_PASSWORD: 'pw' } });
    expect(postgresTarget(fromEnv.config)).toMatchObject({ host: 'db', port: 5432, user: 'app', password: 'pw', database: 'objs', sslmode: 'disable' });
    expect(fromEnv.warnings).toEqual([]);
    const inFlag = resolve({ flags: { postgresUrl: 'postgres://app:pw@db/objs' } });
    expect(postgresTarget(inFlag.config)).toMatchObject({ password: 'pw' });
    expect(inFlag.warnings).toEqual([expect.stringMatching(/^--postgres-url carries the PostgreSQL password: other users can read it in the process list/)]);
  });

  it('refuses a database named twice, a password given twice, and a block without a host', () => {
    expect(refusal({ env: { GOVERSE_POSTGRES_URL: 'postgres://db/objs' }, file: file('postgres:\n  host: other\n') })).toBe(
      'goverse.yaml:postgres.host: the database is also named by env GOVERSE_POSTGRES_URL: give it one way, the URL or the postgres block',
    );
    expect(refusal({ flags: { postgresUrl: 'postgres://u:a@db/objs' }, env: { GOVERSE_POSTGRES_PASSWORD: 'b' } })).toBe(
      'env GOVERSE_POSTGRES_PASSWORD: the PostgreSQL password is also in flag --postgres-url: give it one way only',
    );
    expect(refusal({ env: { GOVERSE_POSTGRES_PASSWORD_FILE: '/run/pw', GOVERSE_POSTGRES_HOST: 'db' }, file: file('postgres:\n  password: x\n') })).toBe(
      'env GOVERSE_POSTGRES_PASSWORD_FILE: the PostgreSQL password is also given by goverse.yaml:postgres.password: give it one way only',
    );
    expect(refusal({ file: file('postgres:\n  database: objs\n') })).toBe(
      'goverse.yaml:postgres.database: names no database to connect to: set postgres.host (or --postgres-url)',
    );
    // The password alone (a shared environment) selects nothing and is no error.
    expect(postgresTarget(resolve({ env: { GOVERSE_POSTGRES_PASSWORD: 'pw' } }).config)).toBeNull();
  });

  it('refuses a SQLite file or SQLite\'s sync policy beside PostgreSQL', () => {
    expect(refusal({ env: { GOVERSE_POSTGRES_HOST: 'db', GOVERSE_DB_PATH: '/var/lib/goverse.sqlite' } })).toBe(
      'env GOVERSE_DB_PATH: the objects are in PostgreSQL (env GOVERSE_POSTGRES_HOST): a SQLite file is not used beside it; give one store',
    );
    expect(refusal({ env: { GOVERSE_POSTGRES_URL: 'postgres://db/x' }, flags: { dbSynchronous: 'normal' } })).toBe(
      'flag --db-synchronous: applies to SQLite only: PostgreSQL (env GOVERSE_POSTGRES_URL) always commits synchronously (synchronous_commit on)',
    );
  });

  it('never echoes a URL it refuses (it may hold a password)', () => {
    const message = refusal({ env: { GOVERSE_POSTGRES_URL: 'postgres://u:hunter2@db/x?sslmode=nope' } });
    expect(message).toMatch(/^env GOVERSE_POSTGRES_URL: invalid value \(not shown\): expected empty or a URL postgres:/);
    expect(message).not.toContain('hunter2');
  });
});
