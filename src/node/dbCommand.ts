import { Command, CommanderError } from 'commander';
import { postgresTarget, type PostgresTarget } from '../core/config/postgres.js';
import type { GoverseConfig } from '../core/config/settings.js';
import { ConfigError, describeError, PreconditionError } from '../core/errors.js';
import { ExitCode, exitCodeFor } from '../core/exitCodes.js';
import { Keyspace } from '../core/keyspace/keys.js';
import { nullLogger } from '../core/log/logger.js';
import { printable } from '../core/text/printable.js';
import { createEtcdClient } from '../edge/etcd/client.js';
import { etcdOptionsFromConfig } from '../edge/etcd/options.js';
import { readSnapshot } from '../edge/etcd/readSnapshot.js';
import { promptLine } from '../edge/terminal/prompt.js';
import { loadNodeConfig, withNodeSettings } from './nodeConfig.js';
import { type DatabaseStatus, PostgresAdmin, SchemaProblemError } from './persistence/postgresAdmin.js';
import { PG_SCHEMA, PG_SCHEMA_VERSION } from './persistence/postgresSchema.js';
import { SqliteSource } from './persistence/sqliteSource.js';

/** Where the tool writes; a seam for tests of the output. */
interface DbIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const PROCESS_IO: DbIo = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  env: process.env,
};

interface DbContext {
  readonly config: GoverseConfig;
  readonly admin: PostgresAdmin;
  readonly target: PostgresTarget;
  readonly io: DbIo;
}

type DbAction = (ctx: DbContext, options: Record<string, unknown>) => Promise<number>;

/**
 * `goverse-node db init|verify|status|reset|import`: the PostgreSQL object store's schema tool, reading the node's
 * settings (the YAML `postgres:` block or `--postgres-url`, etcd for `import`). Exit codes: 0 ok, 1 error, 2 bad
 * input or configuration, 3 a precondition failed (nodes still serving), 4 a problem found (schema, cluster).
 */
export async function runDbCommand(argv: readonly string[], io: DbIo = PROCESS_IO): Promise<number> {
  let chosen: { action: DbAction; options: Record<string, unknown> } | null = null;
  const program = new Command('goverse-node db')
    .description('schema tool of the PostgreSQL object store (docs/PERSISTENCE.md)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  const sub = (name: string, description: string, action: DbAction): Command =>
    withNodeSettings(program.command(name).description(description)).action((options: Record<string, unknown>) => {
      chosen = { action, options };
    });
  sub('init', `create the ${PG_SCHEMA} schema (version ${PG_SCHEMA_VERSION}) if the database has none`, init);
  sub('verify', 'check that a node of this configuration can use the database: schema version and cluster', verify);
  sub('status', 'show the schema, the cluster the database belongs to and its objects per type', status).option('-o, --output <format>', 'text or json', 'text');
  sub('reset', 'delete every object and the cluster identity (asks for the database name unless --yes)', reset).option('--yes', 'do not ask (scripts)');
  sub('import', "copy a cluster's objects from its SQLite database (idempotent; refused while its nodes serve)", importSqlite).requiredOption(
    '--from <file>',
    'the SQLite database (goverse-node --db) of this cluster',
  );
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    throw err;
  }
  if (chosen === null) {
    io.err(program.helpInformation().trimEnd());
    return ExitCode.usage;
  }
  const { action, options } = chosen as { action: DbAction; options: Record<string, unknown> };
  let admin: PostgresAdmin | null = null;
  try {
    const { config, warnings } = await loadNodeConfig(options, io.env);
    for (const w of warnings) io.err(`goverse-node db: warning: ${printable(w)}`);
    const target = postgresTarget(config);
    if (target === null) throw new ConfigError('goverse-node db', 'no PostgreSQL database is configured: set postgres.host in the --config file, or --postgres-url');
    admin = await PostgresAdmin.connect(target);
    return await action({ config, admin, target, io }, options);
  } catch (err) {
    io.err(`goverse-node db: ${printable(describeError(err))}`);
    return err instanceof SchemaProblemError ? ExitCode.problemFound : exitCodeFor(err);
  } finally {
    await admin?.close();
  }
}

const init: DbAction = async ({ admin, io }) => {
  const { created } = await admin.init();
  io.out(`${admin.location}: schema ${PG_SCHEMA} version ${PG_SCHEMA_VERSION} ${created ? 'created' : 'already there'}`);
  return ExitCode.ok;
};

const verify: DbAction = async ({ admin, config, io }) => {
  const { problem } = await admin.verify(config.etcdPrefix);
  if (problem !== null) {
    io.out(`problem: ${printable(problem)}`);
    return ExitCode.problemFound;
  }
  const { cluster } = await admin.status();
  io.out(`ok: ${admin.location} has schema ${PG_SCHEMA} version ${PG_SCHEMA_VERSION} and ${cluster === null ? 'no cluster yet' : `belongs to cluster ${printable(cluster)}`}`);
  return ExitCode.ok;
};

const status: DbAction = async ({ admin, io }, options) => {
  const format = options.output;
  if (format !== 'text' && format !== 'json') throw new ConfigError('--output', `invalid value ${JSON.stringify(format)}: expected text or json`);
  const s = await admin.status();
  if (format === 'json') {
    io.out(JSON.stringify(statusJson(s)));
    return ExitCode.ok;
  }
  const total = Object.values(s.objects).reduce((a, b) => a + b, 0);
  const byType = Object.entries(s.objects).map(([type, n]) => `${printable(type)} ${n}`).join(', ');
  io.out(`database  ${s.database}`);
  io.out(`server    PostgreSQL ${s.server}`);
  io.out(`schema    ${s.schema.kind === 'current' ? `${PG_SCHEMA} version ${PG_SCHEMA_VERSION}` : printable(describeSchema(s))}`);
  io.out(`cluster   ${s.cluster === null ? 'none recorded' : printable(s.cluster)}`);
  io.out(`objects   ${total}${total === 0 ? '' : ` (${byType})`}`);
  return s.schema.kind === 'current' ? ExitCode.ok : ExitCode.problemFound;
};

function describeSchema(s: DatabaseStatus): string {
  switch (s.schema.kind) {
    case 'absent':
      return 'none (goverse-node db init creates it)';
    case 'unsupported':
      return `version ${s.schema.version}, not supported (this build reads version ${PG_SCHEMA_VERSION})`;
    case 'damaged':
      return `damaged: ${s.schema.problems.join('; ')}`;
    case 'current':
      return `version ${PG_SCHEMA_VERSION}`;
  }
}

/** `db status -o json`: a contract for scripts. */
function statusJson(s: DatabaseStatus): Record<string, unknown> {
  return {
    schemaVersion: 1,
    database: s.database,
    server: s.server,
    schema: { state: s.schema.kind, ...(s.schema.kind === 'current' ? { version: PG_SCHEMA_VERSION } : {}), ...(s.schema.kind === 'current' ? {} : { problem: describeSchema(s) }) },
    cluster: s.cluster,
    objects: { total: Object.values(s.objects).reduce((a, b) => a + b, 0), byType: s.objects },
  };
}

const reset: DbAction = async ({ admin, target, io }, options) => {
  const before = await admin.status();
  const total = Object.values(before.objects).reduce((a, b) => a + b, 0);
  if (options.yes !== true) {
    const name = target.database === '' ? target.user : target.database;
    const what = `${total} objects${before.cluster === null ? '' : ` of cluster ${printable(before.cluster)}`}`;
    const answer = await promptLine(`reset ${admin.location}: delete ${what} and the cluster identity? Type the database name (${name}) to confirm: `);
    // A piped answer is not echoed: end the prompt's line.
    if (process.stdin.isTTY !== true) io.err('');
    if (answer === null) throw new ConfigError('reset', 'no confirmation (stdin closed): type the database name, or pass --yes in scripts');
    if (answer.trim() !== name) {
      io.err('cancelled; nothing changed');
      return ExitCode.error;
    }
  }
  await admin.reset();
  io.out(`${admin.location}: reset (${total} objects deleted); schema ${PG_SCHEMA} version ${PG_SCHEMA_VERSION} is empty and belongs to no cluster`);
  return ExitCode.ok;
};

const importSqlite: DbAction = async ({ admin, config, io }, options) => {
  const path = options.from as string;
  let source: SqliteSource;
  try {
    source = SqliteSource.open(path);
  } catch (err) {
    throw new ConfigError(`--from ${path}`, describeError(err).replace(`${path}: `, ''), { cause: err });
  }
  try {
    await refuseWhileServing(config);
    const r = await admin.importFrom(source, config.etcdPrefix);
    io.out(
      `${admin.location}: imported ${r.rows} objects of cluster ${config.etcdPrefix} from ${path}: ` +
        `${r.inserted} inserted, ${r.updated} updated, ${r.kept} kept (already as new or newer)` +
        (r.binding === 'recorded' ? `; the database now belongs to cluster ${config.etcdPrefix}` : ''),
    );
    return ExitCode.ok;
  } finally {
    source.close();
  }
};

/**
 * Nodes of the cluster still serving would keep writing the SQLite file (the copy would miss their last writes) or,
 * already moved, the database. Asks etcd for the cluster's live members; none may be registered.
 */
async function refuseWhileServing(config: GoverseConfig): Promise<void> {
  const keys = new Keyspace(config.etcdPrefix);
  const client = createEtcdClient(etcdOptionsFromConfig(config, nullLogger));
  try {
    const snapshot = await readSnapshot(client, keys, config.numShards);
    const live = [...snapshot.nodes.keys()];
    if (live.length > 0) {
      throw new PreconditionError(
        `nodes of cluster ${config.etcdPrefix} are serving (${live.map(printable).join(', ')}): stop them first, ` +
          'so that nothing writes the SQLite file or the database during the move; then start them on PostgreSQL',
      );
    }
  } catch (err) {
    if (err instanceof PreconditionError) throw err;
    throw new PreconditionError(`cannot tell whether nodes of cluster ${config.etcdPrefix} are serving: etcd: ${describeError(err)}`, { cause: err });
  } finally {
    await client.close();
  }
}
