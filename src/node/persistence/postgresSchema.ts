import type { ClientBase } from 'pg';

/**
 * Our tables in a PostgreSQL database: a schema of our own, `goverse_node`, never upstream Goverse's tables (its
 * nodes store other bytes under the same object type names; sharing rows would corrupt both). Versioned by
 * `meta.schema_version`; a database with another version, or with our names holding something else, is refused,
 * not guessed at.
 *
 * - `meta (key, value)`: `schema_version`, `cluster` (the cluster identity, see clusterBinding.ts), and a transient
 *   `probe` row.
 * - `objects (type, id, state, epoch, updated_at)`, as in the SQLite store: `epoch` fences stale owners,
 *   `updated_at` is milliseconds since the epoch.
 * - `apply_writes(...)`: one group of fenced writes in one statement, so a group costs one round trip (see
 *   postgresObjectStore.ts). Each write is a conditional write (`epoch <= mine`); a refused one is reported, not
 *   raised, and the others apply. An error raised by a write rolls the whole group back and names the write
 *   (`DETAIL: write=<n>`, 1-based, then the original detail).
 */
export const PG_SCHEMA = 'goverse_node';
export const PG_SCHEMA_VERSION = 1;

/** Serialises schema creation and cluster binding across processes (two first starts, `db init` beside a node). */
export const PG_SCHEMA_LOCK = `SELECT pg_advisory_xact_lock(${0x676f7665})`;

const OBJECT_COLUMNS = ['type text', 'id text', 'state text', 'epoch bigint', 'updated_at bigint'];
const APPLY_SIGNATURE = `${PG_SCHEMA}.apply_writes(text[],text[],text[],bigint[],text[],bigint)`;

const CREATE = `
CREATE SCHEMA IF NOT EXISTS ${PG_SCHEMA};
CREATE TABLE ${PG_SCHEMA}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE ${PG_SCHEMA}.objects (
  type text NOT NULL,
  id text NOT NULL,
  state text NOT NULL,
  epoch bigint NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (type, id)
);
CREATE FUNCTION ${PG_SCHEMA}.apply_writes(kinds text[], types text[], ids text[], epochs bigint[], states text[], now_ms bigint)
RETURNS TABLE (w_outcome text, w_state text, w_epoch bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  current_write int := 0;
  was_inserted boolean;
  err_detail text;
BEGIN
  BEGIN
    FOR i IN 1 .. coalesce(array_length(kinds, 1), 0) LOOP
      current_write := i;
      w_state := NULL;
      w_epoch := NULL;
      IF kinds[i] = 'load' THEN
        INSERT INTO ${PG_SCHEMA}.objects AS o (type, id, state, epoch, updated_at)
          VALUES (types[i], ids[i], states[i], epochs[i], now_ms)
          ON CONFLICT (type, id) DO UPDATE SET epoch = EXCLUDED.epoch WHERE o.epoch <= EXCLUDED.epoch
          RETURNING o.state, (o.xmax = 0) INTO w_state, was_inserted;
        IF FOUND THEN
          w_outcome := CASE WHEN was_inserted THEN 'created' ELSE 'loaded' END;
        ELSE
          SELECT o.epoch INTO w_epoch FROM ${PG_SCHEMA}.objects o WHERE o.type = types[i] AND o.id = ids[i];
          w_outcome := 'stale';
        END IF;
      ELSIF kinds[i] = 'save' THEN
        UPDATE ${PG_SCHEMA}.objects o SET state = states[i], epoch = epochs[i], updated_at = now_ms
          WHERE o.type = types[i] AND o.id = ids[i] AND o.epoch <= epochs[i];
        IF FOUND THEN
          w_outcome := 'saved';
        ELSE
          SELECT o.epoch INTO w_epoch FROM ${PG_SCHEMA}.objects o WHERE o.type = types[i] AND o.id = ids[i];
          w_outcome := 'stale';
        END IF;
      ELSIF kinds[i] = 'delete' THEN
        DELETE FROM ${PG_SCHEMA}.objects o WHERE o.type = types[i] AND o.id = ids[i] AND o.epoch <= epochs[i];
        IF FOUND THEN
          w_outcome := 'deleted';
        ELSE
          SELECT o.epoch INTO w_epoch FROM ${PG_SCHEMA}.objects o WHERE o.type = types[i] AND o.id = ids[i];
          w_outcome := CASE WHEN FOUND THEN 'stale' ELSE 'absent' END;
        END IF;
      ELSE
        RAISE EXCEPTION 'unknown write kind %', kinds[i] USING ERRCODE = '22023';
      END IF;
      RETURN NEXT;
    END LOOP;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS err_detail = PG_EXCEPTION_DETAIL;
    RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = SQLERRM,
      DETAIL = 'write=' || current_write || coalesce(NULLIF(': ' || err_detail, ': '), '');
  END;
END
$fn$;
INSERT INTO ${PG_SCHEMA}.meta (key, value) VALUES ('schema_version', '${PG_SCHEMA_VERSION}');
`;

/**
 * What a database holds of our schema. `absent`: nothing of it (a fresh database, or one without our meta table in
 * an otherwise empty schema); `current`: this build's version, complete; `unsupported`: another version;
 * `damaged`: our names exist but do not hold what this version needs.
 */
export type SchemaState =
  | { readonly kind: 'absent' }
  | { readonly kind: 'current' }
  | { readonly kind: 'unsupported'; readonly version: string }
  | { readonly kind: 'damaged'; readonly problems: readonly string[] };

/** Reads the state of our schema (inside the caller's transaction, if any). */
export async function inspectSchema(db: ClientBase): Promise<SchemaState> {
  const { rows } = await db.query<{ meta: string | null; objects: string | null; apply: string | null }>(
    `SELECT to_regclass('${PG_SCHEMA}.meta')::text AS meta, to_regclass('${PG_SCHEMA}.objects')::text AS objects,
            to_regprocedure('${APPLY_SIGNATURE}')::text AS apply`,
  );
  const found = rows[0]!;
  if (found.meta === null) {
    return found.objects === null && found.apply === null ? { kind: 'absent' } : { kind: 'damaged', problems: [`table ${PG_SCHEMA}.meta is missing`] };
  }
  const version = await db.query<{ value: string }>(`SELECT value FROM ${PG_SCHEMA}.meta WHERE key = 'schema_version'`);
  const recorded = version.rows[0]?.value;
  if (recorded === undefined) return { kind: 'damaged', problems: [`${PG_SCHEMA}.meta has no schema_version`] };
  if (recorded !== String(PG_SCHEMA_VERSION)) return { kind: 'unsupported', version: recorded };
  const problems: string[] = [];
  if (found.objects === null) problems.push(`table ${PG_SCHEMA}.objects is missing`);
  else problems.push(...(await objectTableProblems(db)));
  if (found.apply === null) problems.push(`function ${APPLY_SIGNATURE} is missing`);
  return problems.length === 0 ? { kind: 'current' } : { kind: 'damaged', problems };
}

async function objectTableProblems(db: ClientBase): Promise<string[]> {
  const columns = await db.query<{ column: string }>(
    `SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) AS column
       FROM pg_attribute a WHERE a.attrelid = '${PG_SCHEMA}.objects'::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull
      ORDER BY a.attnum`,
  );
  const key = await db.query<{ column: string }>(
    `SELECT a.attname AS column FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = '${PG_SCHEMA}.objects'::regclass AND i.indisprimary
      ORDER BY array_position(i.indkey::int2[], a.attnum)`,
  );
  const problems: string[] = [];
  const have = columns.rows.map((r) => r.column);
  if (have.join(', ') !== OBJECT_COLUMNS.join(', ')) {
    problems.push(`table ${PG_SCHEMA}.objects has columns (${have.join(', ')}), expected (${OBJECT_COLUMNS.join(', ')}) not null`);
  }
  const pk = key.rows.map((r) => r.column).join(', ');
  if (pk !== 'type, id') problems.push(`table ${PG_SCHEMA}.objects has primary key (${pk}), expected (type, id)`);
  return problems;
}

/** Creates the schema in the caller's transaction (which holds PG_SCHEMA_LOCK). */
export async function createSchema(db: ClientBase): Promise<void> {
  await db.query(CREATE);
}

/** A sentence for a schema this build cannot use; null when it can. */
export function schemaProblem(state: SchemaState): string | null {
  switch (state.kind) {
    case 'absent':
      return `has no ${PG_SCHEMA} schema (run goverse-node db init)`;
    case 'current':
      return null;
    case 'unsupported':
      return `schema version ${state.version} is not supported (this build reads version ${PG_SCHEMA_VERSION})`;
    case 'damaged':
      return `schema ${PG_SCHEMA} is damaged: ${state.problems.join('; ')}`;
  }
}
