import { InvalidArgumentError } from '../errors.js';

/**
 * Parser for the Prometheus text exposition format 0.0.4, as prom-client and Go's client_golang write it. It is
 * strict where a wrong answer would mislead (escapes, values, duplicate TYPE lines) and lenient where scrapers
 * are (comments, blank lines, family order).
 */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** Label names and values of one series. Read them with Object.hasOwn: a label may be called `constructor`. */
export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** The sample's own name: `x_bucket`, `x_sum` and `x_count` keep their suffix inside family `x`. */
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
  readonly timestampMs?: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly samples: readonly Sample[];
}

/** Families by name, in order of appearance; a family declared by HELP or TYPE may have no samples. */
export type MetricFamilies = ReadonlyMap<string, MetricFamily>;

/** The text is not valid exposition format; `line` is 1-based. */
export class MetricsParseError extends InvalidArgumentError {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`metrics text line ${line}: ${reason}`);
  }
}

const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const NON_BLANK = /[^ \t]*/y;
const METRIC_NAME_CHAR = /[a-zA-Z0-9_:]/;
const LABEL_NAME_CHAR = /[a-zA-Z0-9_]/;
const PLAIN_CHARS = /[^"\\]*/y;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^-?\d+$/;
const INFINITY = /^([+-]?)inf(?:inity)?$/i;

/** A value as Go's strconv.ParseFloat reads it: prom-client writes NaN as `Nan`, Go as `NaN`; infinities as `+Inf`. */
export function parseFloatToken(token: string): number | undefined {
  if (DECIMAL.test(token)) return Number(token);
  if (token.toLowerCase() === 'nan') return Number.NaN;
  const inf = INFINITY.exec(token);
  if (inf !== null) return inf[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return undefined;
}

interface FamilyBuilder {
  readonly name: string;
  type: MetricType;
  help: string;
  typeLine: number | undefined;
  helpLine: number | undefined;
  readonly samples: Sample[];
}

/** A position in one line, with the reads the grammar needs. */
class Cursor {
  text = '';
  line = 0;
  pos = 0;

  /** One cursor serves every line: a scrape can have 100k of them. */
  reset(text: string, line: number): void {
    this.text = text;
    this.line = line;
    this.pos = 0;
  }

  fail(reason: string): never {
    throw new MetricsParseError(this.line, reason);
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text.charAt(this.pos);
  }

  atBlank(): boolean {
    const c = this.peek();
    return c === ' ' || c === '\t';
  }

  skipBlanks(): void {
    while (this.atBlank()) this.pos++;
  }

  /** The match of a sticky pattern at the cursor ('' when none), consumed. `test` allocates no match array. */
  read(pattern: RegExp): string {
    pattern.lastIndex = this.pos;
    if (!pattern.test(this.text)) return '';
    const start = this.pos;
    this.pos = pattern.lastIndex;
    return this.text.slice(start, this.pos);
  }

  /**
   * `known` when the text at the cursor is that name followed by a character no name has (`follows` matches), else
   * the match of `pattern`. Reusing the previous line's string spares a slice and gives property and map lookups a
   * string whose hash is already computed: most lines repeat the names of the line before.
   */
  readKnown(known: string, pattern: RegExp, follows: RegExp): string {
    if (known !== '' && this.text.startsWith(known, this.pos)) {
      const after = this.pos + known.length;
      if (after >= this.text.length || !follows.test(this.text.charAt(after))) {
        this.pos = after;
        return known;
      }
    }
    return this.read(pattern);
  }

  rest(): string {
    const s = this.text.slice(this.pos);
    this.pos = this.text.length;
    return s;
  }
}

class Parser {
  private readonly families = new Map<string, FamilyBuilder>();
  /** The previous sample's name and family; forgotten at every HELP or TYPE line, which can change the family. */
  private lastName = '';
  private lastFamily: FamilyBuilder | null = null;
  /** The previous sample's label names, by position. */
  private readonly labelNames: string[] = [];

  constructor(private readonly cache: SampleCache | undefined) {}

  parse(text: string): MetricFamilies {
    const lines = text.split('\n');
    const cur = new Cursor();
    this.cache?.begin();
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!;
      cur.reset(raw.endsWith('\r') ? raw.slice(0, -1) : raw, i + 1);
      cur.skipBlanks();
      if (cur.atEnd()) continue;
      if (cur.peek() === '#') {
        this.comment(cur);
        continue;
      }
      const known = this.cache?.get(raw);
      const sample = known ?? this.readSample(cur);
      this.addSample(cur, sample);
      this.cache?.set(raw, sample);
    }
    this.cache?.commit();
    const out = new Map<string, MetricFamily>();
    for (const f of this.families.values()) out.set(f.name, { name: f.name, type: f.type, help: f.help, samples: f.samples });
    return out;
  }

  private family(name: string): FamilyBuilder {
    let f = this.families.get(name);
    if (f === undefined) {
      f = { name, type: 'untyped', help: '', typeLine: undefined, helpLine: undefined, samples: [] };
      this.families.set(name, f);
    }
    return f;
  }

  /**
   * `# HELP name text`, `# TYPE name type`; any other comment is ignored. As in client_golang, a bare `# HELP` or
   * `# TYPE name` with nothing after it is a comment too.
   */
  private comment(cur: Cursor): void {
    this.lastName = '';
    this.lastFamily = null;
    cur.pos++;
    cur.skipBlanks();
    const keyword = cur.read(NON_BLANK);
    if ((keyword !== 'HELP' && keyword !== 'TYPE') || cur.atEnd()) return;
    cur.skipBlanks();
    const name = cur.read(METRIC_NAME);
    if (name === '' || !(cur.atEnd() || cur.atBlank())) cur.fail(`${keyword} line without a valid metric name`);
    cur.skipBlanks();
    if (cur.atEnd()) return;
    const f = this.family(name);
    if (keyword === 'HELP') {
      if (f.helpLine !== undefined) cur.fail(`second HELP line for ${name} (the first is line ${f.helpLine})`);
      f.helpLine = cur.line;
      f.help = unescapeHelp(cur.rest());
      return;
    }
    const type = cur.rest().trimEnd();
    if (!TYPES.has(type)) {
      cur.fail(`unknown type ${JSON.stringify(type)} for ${name}: expected counter, gauge, histogram, summary or untyped`);
    }
    if (f.typeLine !== undefined) cur.fail(`second TYPE line for ${name} (the first is line ${f.typeLine})`);
    if (f.samples.length > 0) cur.fail(`TYPE line for ${name} after its samples`);
    f.typeLine = cur.line;
    f.type = type as MetricType;
  }

  /** `name{label="value",...} value [timestamp]` */
  private readSample(cur: Cursor): Sample {
    const name = cur.readKnown(this.lastName, METRIC_NAME, METRIC_NAME_CHAR);
    if (name === '') cur.fail(`expected a metric name, found ${JSON.stringify(cur.peek())}`);
    // A plain object keeps V8's fast properties (null-prototype objects are dictionaries, 2x slower to parse into).
    const labels: Record<string, string> = {};
    const afterName = cur.pos;
    cur.skipBlanks();
    if (cur.peek() === '{') {
      readLabels(cur, labels, this.labelNames);
      cur.skipBlanks();
    } else if (cur.pos === afterName && !cur.atEnd()) {
      cur.fail(`invalid character ${JSON.stringify(cur.peek())} in metric name ${name}`);
    }
    const valueToken = cur.read(NON_BLANK);
    if (valueToken === '') cur.fail(`missing value for ${name}`);
    const value = parseFloatToken(valueToken);
    if (value === undefined) cur.fail(`invalid value ${JSON.stringify(valueToken)} for ${name}`);
    cur.skipBlanks();
    let timestampMs: number | undefined;
    if (!cur.atEnd()) {
      const token = cur.read(NON_BLANK);
      timestampMs = INTEGER.test(token) ? Number(token) : Number.NaN;
      if (!Number.isSafeInteger(timestampMs)) cur.fail(`invalid timestamp ${JSON.stringify(token)} for ${name}: expected milliseconds`);
      cur.skipBlanks();
      if (!cur.atEnd()) cur.fail(`unexpected text after the timestamp of ${name}`);
    }
    return timestampMs === undefined ? { name, labels, value } : { name, labels, value, timestampMs };
  }

  private addSample(cur: Cursor, sample: Sample): void {
    const { name } = sample;
    const family = this.lastFamily !== null && this.lastName === name ? this.lastFamily : this.familyOf(name);
    this.lastName = name;
    this.lastFamily = family;
    checkSample(cur, family, name, sample.labels);
    family.samples.push(sample);
  }

  /** A sample's family: its own name, or a histogram or summary it is a `_bucket`, `_sum` or `_count` of. */
  private familyOf(name: string): FamilyBuilder {
    const own = this.families.get(name);
    if (own !== undefined) return own;
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (!name.endsWith(suffix)) continue;
      const base = this.families.get(name.slice(0, -suffix.length));
      if (base?.type === 'histogram' || (base?.type === 'summary' && suffix !== '_bucket')) return base;
    }
    return this.family(name);
  }
}

/** What a histogram's or summary's samples must carry. */
function checkSample(cur: Cursor, family: FamilyBuilder, name: string, labels: Labels): void {
  if (family.type === 'histogram') {
    if (name === family.name) cur.fail(`sample ${name} of histogram ${name} needs a _bucket, _sum or _count suffix`);
    if (name.endsWith('_bucket')) checkBound(cur, name, labels, 'le');
  } else if (family.type === 'summary' && name === family.name) {
    checkBound(cur, name, labels, 'quantile');
  }
}

function checkBound(cur: Cursor, name: string, labels: Labels, label: 'le' | 'quantile'): void {
  const bound = labels[label];
  if (bound === undefined) cur.fail(`sample ${name} needs a ${label} label`);
  if (parseFloatToken(bound) === undefined) cur.fail(`invalid ${label} ${JSON.stringify(bound)} in ${name}`);
}

/** `known[i]`: the name of the i-th label of the previous sample, replaced by this sample's. */
function readLabels(cur: Cursor, labels: Record<string, string>, known: string[]): void {
  cur.pos++;
  for (let i = 0; ; i++) {
    cur.skipBlanks();
    if (cur.peek() === '}') break;
    const name = cur.readKnown(known[i] ?? '', LABEL_NAME, LABEL_NAME_CHAR);
    known[i] = name;
    if (name === '') cur.fail(cur.atEnd() ? 'unterminated label set' : `invalid label name at column ${cur.pos + 1}`);
    cur.skipBlanks();
    if (cur.peek() !== '=') cur.fail(`expected = after label ${name}`);
    cur.pos++;
    cur.skipBlanks();
    if (cur.peek() !== '"') cur.fail(`expected a quoted value for label ${name}`);
    cur.pos++;
    const value = readLabelValue(cur, name);
    if (Object.hasOwn(labels, name)) cur.fail(`duplicate label ${name}`);
    // Assigning `__proto__` would set the prototype instead of adding a label.
    if (name === '__proto__') Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
    else labels[name] = value;
    cur.skipBlanks();
    const next = cur.peek();
    if (next === '}') break;
    if (next !== ',') cur.fail(cur.atEnd() ? 'unterminated label set' : `expected , or } after label ${name}`);
    cur.pos++;
  }
  cur.pos++;
}

/** After the opening quote: the value up to the closing quote, with `\\`, `\"` and `\n` unescaped. */
function readLabelValue(cur: Cursor, label: string): string {
  // Almost every value has no escape: one slice up to the quote.
  const close = cur.text.indexOf('"', cur.pos);
  if (close >= 0) {
    const escape = cur.text.indexOf('\\', cur.pos);
    if (escape < 0 || escape > close) {
      const value = cur.text.slice(cur.pos, close);
      cur.pos = close + 1;
      return value;
    }
  }
  let value = '';
  for (;;) {
    value += cur.read(PLAIN_CHARS);
    if (cur.atEnd()) cur.fail(`unterminated value of label ${label}`);
    const c = cur.peek();
    cur.pos++;
    if (c === '"') return value;
    const escaped = cur.peek();
    cur.pos++;
    if (escaped === '\\' || escaped === '"') value += escaped;
    else if (escaped === 'n') value += '\n';
    else cur.fail(`invalid escape ${JSON.stringify(`\\${escaped}`)} in the value of label ${label}`);
  }
}

/** HELP text escapes only `\\` and `\n`; any other backslash stays as written, as client_golang reads it. */
function unescapeHelp(text: string): string {
  return text.replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/**
 * The samples of one source's last scrape by their line. Most lines of a node's /metrics come back unchanged from one
 * scrape to the next (gauges, idle series), and reading them again was most of a console's scraping: a line seen
 * last time gives its sample without being read. Each parse keeps only the lines it saw, and a parse that fails
 * keeps the previous ones.
 */
export class SampleCache {
  private last = new Map<string, Sample>();
  private next = new Map<string, Sample>();

  begin(): void {
    this.next = new Map();
  }

  get(line: string): Sample | undefined {
    return this.last.get(line);
  }

  set(line: string, sample: Sample): void {
    this.next.set(line, sample);
  }

  commit(): void {
    this.last = this.next;
    this.next = new Map();
  }
}

/**
 * Parses a whole scrape. Throws only MetricsParseError, whatever the input. With `cache` (one per source), lines
 * unchanged since the source's previous scrape are not read again.
 */
export function parsePrometheusText(text: string, cache?: SampleCache): MetricFamilies {
  return new Parser(cache).parse(text);
}
