import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError } from '../errors.js';
import { inScope, SETTING_NAMES, SETTINGS, type ConfigScope, type SettingName } from './settings.js';

/** A config file's content; reading it is the caller's I/O (`loadConfigFile`). */
export interface ConfigFileText {
  readonly path: string;
  readonly text: string;
}

/** A raw value found in the file, with the source that errors name: `<file>:cluster.shards`. */
export interface FileValue {
  readonly raw: unknown;
  readonly source: string;
  readonly line: number | undefined;
}

export interface ConfigFileValues {
  readonly values: ReadonlyMap<SettingName, FileValue>;
  readonly warnings: readonly string[];
}

/** How the node ID that selects a `nodes` entry was given, if it was. */
export interface NodeSelector {
  readonly id: string;
  readonly source: string;
}

const NODES = 'nodes[]';
/** Upstream sections with no meaning here; known, so they raise no unknown-key warning. */
const IGNORED_SECTIONS = ['inspector', 'gates', 'object_access_rules', 'object_lifecycle_rules'];
const STRUCTURE_KEYS = [
  'version',
  'cluster.provider',
  'cluster.auto_load_objects[].type',
  'cluster.auto_load_objects[].id',
  'cluster.auto_load_objects[].per_shard',
  'cluster.auto_load_objects[].per_node',
];

type KeySchema = { readonly kind: 'leaf' } | { readonly kind: 'map'; readonly children: Map<string, KeySchema> };
type Branch = Extract<KeySchema, { kind: 'map' }>;

/** `a.b[].c`: a `[]` segment is a list whose items are mappings. */
function buildSchema(paths: readonly string[]): Branch {
  const root: Branch = { kind: 'map', children: new Map() };
  for (const path of paths) {
    const segments = path.split('.');
    let node = root;
    for (const [i, segment] of segments.entries()) {
      const last = i === segments.length - 1;
      const existing = node.children.get(segment);
      if (last) {
        if (existing === undefined) node.children.set(segment, { kind: 'leaf' });
        break;
      }
      const next: Branch = existing?.kind === 'map' ? existing : { kind: 'map', children: new Map() };
      node.children.set(segment, next);
      node = next;
    }
  }
  return root;
}

const SCHEMA = buildSchema([
  ...SETTING_NAMES.flatMap((name) => SETTINGS[name].yaml ?? []),
  ...STRUCTURE_KEYS,
  ...IGNORED_SECTIONS,
]);

type Path = readonly (string | number)[];

function showPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class FileReader {
  readonly warnings: string[] = [];
  private readonly lines = new LineCounter();
  private readonly doc: Document;

  constructor(private readonly file: ConfigFileText) {
    this.doc = parseDocument(file.text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    const [err] = this.doc.errors;
    if (err !== undefined) {
      const line = this.lines.linePos(err.pos[0]).line;
      // The library appends a position and a code frame; the source already says where.
      const reason = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new ConfigError(`${file.path}:${line}`, `invalid YAML: ${reason}`, { cause: err });
    }
    for (const w of this.doc.warnings) this.warnings.push(`${file.path}:${this.lines.linePos(w.pos[0]).line}: ${w.message.split('\n')[0]}`);
  }

  root(): Record<string, unknown> {
    let js: unknown;
    try {
      js = this.doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      throw new ConfigError(this.file.path, `invalid YAML: ${(err as Error).message}`, { cause: err });
    }
    if (js === null || js === undefined) return {};
    if (!isPlainMap(js)) throw new ConfigError(this.file.path, 'expected a mapping of sections (cluster, nodes, ...) at the top level');
    return js;
  }

  source(path: Path): string {
    return `${this.file.path}:${showPath(path)}`;
  }

  /** Line of the key (or list item) at `path`, when the document still has it (aliases do not). */
  line(path: Path): number | undefined {
    const parent = path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
    const last = path[path.length - 1];
    let range: readonly number[] | null | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === last);
      range = (pair?.key as { range?: readonly number[] } | null)?.range;
    } else if (isSeq(parent) && typeof last === 'number') {
      range = (parent.items[last] as { range?: readonly number[] } | null)?.range;
    }
    return range ? this.lines.linePos(range[0]!).line : undefined;
  }

  fail(path: Path, message: string): never {
    const line = this.line(path);
    throw new ConfigError(this.source(path), line === undefined ? message : `${message} (line ${line})`);
  }

  /** Unknown keys are warnings (files are shared with upstream, which has more); a wrong shape is an error. */
  checkKeys(value: unknown, schema: Branch, path: Path): void {
    if (value === null || value === undefined) return;
    if (!isPlainMap(value)) this.fail(path, 'expected a mapping');
    for (const [key, child] of Object.entries(value)) {
      const keyPath = [...path, key];
      const listSchema = schema.children.get(`${key}[]`);
      if (listSchema?.kind === 'map') {
        const items = value[key];
        if (items === null) continue;
        if (!Array.isArray(items)) this.fail(keyPath, 'expected a list');
        items.forEach((item, i) => this.checkKeys(item, listSchema, [...keyPath, i]));
        continue;
      }
      const known = schema.children.get(key);
      if (known === undefined) {
        const line = this.line(keyPath);
        this.warnings.push(`${this.source(keyPath)}: unknown key, ignored${line === undefined ? '' : ` (line ${line})`}`);
      } else if (known.kind === 'map') {
        this.checkKeys(child, known, keyPath);
      }
    }
  }

  value(path: Path, raw: unknown): FileValue {
    return { raw, source: this.source(path), line: this.line(path) };
  }
}

function getIn(root: unknown, path: readonly string[]): unknown {
  let cur = root;
  for (const key of path) cur = isPlainMap(cur) ? cur[key] : undefined;
  return cur;
}

function nodeIdOf(raw: unknown): string | undefined {
  if (typeof raw === 'string' && raw.trim() !== '') return raw.trim();
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  return undefined;
}

/**
 * Reads a goverse (upstream-compatible) YAML file into raw per-setting values; their parsing and validation happen
 * with every other source. For goverse-node the `nodes` entry named by `selector` (or the only entry) supplies the
 * `nodes[].x` settings, named `<file>:nodes[<id>].x` in errors.
 */
export function readConfigFile(file: ConfigFileText, scope: ConfigScope, selector: NodeSelector | undefined): ConfigFileValues {
  const reader = new FileReader(file);
  const root = reader.root();
  reader.checkKeys(root, SCHEMA, []);
  if (root.version !== undefined && root.version !== null && root.version !== 1) {
    reader.fail(['version'], `unsupported version ${JSON.stringify(root.version)}: expected 1`);
  }
  const provider = getIn(root, ['cluster', 'provider']);
  if (provider !== undefined && provider !== null && provider !== 'etcd') {
    reader.fail(['cluster', 'provider'], `unsupported provider ${JSON.stringify(provider)}: expected etcd`);
  }

  const values = new Map<SettingName, FileValue>();
  for (const name of SETTING_NAMES) {
    const yaml = SETTINGS[name].yaml;
    if (yaml === undefined || yaml.startsWith(NODES) || !inScope(name, scope)) continue;
    const path = yaml.split('.');
    const raw = getIn(root, path);
    if (raw !== undefined && raw !== null) values.set(name, reader.value(path, raw));
  }
  if (scope === 'node') readNodeEntry(reader, root.nodes, selector, values);
  return { values, warnings: reader.warnings };
}

function readNodeEntry(
  reader: FileReader,
  nodes: unknown,
  selector: NodeSelector | undefined,
  values: Map<SettingName, FileValue>,
): void {
  // Without a nodes section the node is configured by flags and environment alone.
  if (!Array.isArray(nodes)) return;
  const ids: string[] = [];
  for (const [i, entry] of nodes.entries()) {
    const id = nodeIdOf(isPlainMap(entry) ? entry.id : undefined);
    if (id === undefined) reader.fail(['nodes', i, 'id'], 'every nodes entry needs a non-empty id');
    if (ids.includes(id)) reader.fail(['nodes', i, 'id'], `duplicate node id ${JSON.stringify(id)}`);
    ids.push(id);
  }
  const list = ids.map((id) => JSON.stringify(id)).join(', ');
  let index: number;
  if (selector !== undefined) {
    index = ids.indexOf(selector.id);
    if (index < 0) {
      reader.fail(['nodes'], `no entry has id ${JSON.stringify(selector.id)} (given by ${selector.source}); ids: ${list || 'none'}`);
    }
  } else if (ids.length === 0) {
    return;
  } else if (ids.length === 1) {
    index = 0;
  } else {
    reader.fail(['nodes'], `${ids.length} entries (${list}): choose one with --node-id or GOVERSE_NODE_ID`);
  }
  const entry = nodes[index] as Record<string, unknown>;
  const id = ids[index]!;
  for (const name of SETTING_NAMES) {
    const yaml = SETTINGS[name].yaml;
    if (yaml === undefined || !yaml.startsWith(NODES)) continue;
    const key = yaml.slice(NODES.length + 1);
    const raw = key === 'id' ? id : entry[key];
    if (raw === undefined || raw === null) continue;
    // Errors name the entry by its id, the way operators think of it; the line still points at the key.
    values.set(name, { raw, source: `${reader.source(['nodes'])}[${id}].${key}`, line: reader.line(['nodes', index, key]) });
  }
}
