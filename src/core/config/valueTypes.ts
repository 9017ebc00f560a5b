import { DURATION_FORM, formatDuration, parseDuration } from '../duration.js';

/**
 * How one kind of setting value is read. Strings are text from the environment, flags or YAML; YAML and flags may
 * also give numbers, booleans and arrays. `expected` completes "expected ..." in errors and in the generated docs,
 * so both always say the same thing.
 */
export interface ValueType<T> {
  readonly kind: 'int' | 'float' | 'duration' | 'string' | 'list' | 'bool' | 'enum' | 'objects';
  readonly expected: string;
  /** The values of an enum, for help texts. */
  readonly choices?: readonly string[];
  parse(raw: unknown): Parsed<T>;
  format(value: T): string;
}

/** A refusal may point inside a structured value (`at`: `[2].per_node` and the part found there) with its own form. */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly at?: { readonly path: string; readonly value: unknown }; readonly expected?: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const BAD: Parsed<never> = { ok: false };

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** An integer from `min`, up to `max` (inclusive) when given. */
export function integer(options: { min: number; max?: number }): ValueType<number> {
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  return {
    kind: 'int',
    expected: options.max === undefined ? `an integer >= ${options.min}` : `an integer from ${options.min} to ${options.max}`,
    parse(raw) {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && INTEGER_TEXT.test(raw.trim()) ? Number(raw) : NaN;
      return Number.isSafeInteger(n) && n >= options.min && n <= max ? ok(n) : BAD;
    },
    format: String,
  };
}

export interface DecimalBounds {
  /** Exclusive lower bound unless `minInclusive`. */
  readonly min: number;
  readonly minInclusive?: boolean;
  /** Inclusive upper bound unless `maxExclusive`. */
  readonly max?: number;
  readonly maxExclusive?: boolean;
}

export function decimal(bounds: DecimalBounds): ValueType<number> {
  const lower = bounds.minInclusive ? '[' : '(';
  const expected =
    bounds.max === undefined
      ? `a number ${bounds.minInclusive ? '>=' : '>'} ${bounds.min}`
      : `a number in ${lower}${bounds.min}, ${bounds.max}${bounds.maxExclusive ? ')' : ']'}`;
  const inRange = (n: number): boolean =>
    (bounds.minInclusive ? n >= bounds.min : n > bounds.min) &&
    (bounds.max === undefined || (bounds.maxExclusive ? n < bounds.max : n <= bounds.max));
  return {
    kind: 'float',
    expected,
    parse(raw) {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && DECIMAL_TEXT.test(raw.trim()) ? Number(raw) : NaN;
      return Number.isFinite(n) && inRange(n) ? ok(n) : BAD;
    },
    format: String,
  };
}

export interface DurationOptions {
  /** Refuse 0 (intervals and deadlines that would spin or expire at once). */
  readonly positive?: boolean;
  /** etcd leases are granted in whole seconds. */
  readonly wholeSecondsMin?: number;
  /** A bare number means seconds, as in `top -d 2` and k9s `--refresh 2`. */
  readonly bareSeconds?: boolean;
  /** Longest accepted, in milliseconds. */
  readonly max?: number;
}

/** Durations are milliseconds. A YAML number is refused unless 0: Go would read `10` as 10 nanoseconds. */
export function duration(options: DurationOptions = {}): ValueType<number> {
  let expected = options.bareSeconds ? `seconds (such as 2 or 0.5) or ${DURATION_FORM}` : DURATION_FORM;
  if (options.wholeSecondsMin !== undefined) expected += `, in whole seconds, at least ${options.wholeSecondsMin}s`;
  else if (options.positive) expected += ', greater than 0';
  if (options.max !== undefined) expected += `, at most ${formatDuration(options.max)}`;
  return {
    kind: 'duration',
    expected,
    parse(raw) {
      const ms = durationMs(raw, options.bareSeconds === true);
      if (ms === undefined) return BAD;
      if (options.positive && ms === 0) return BAD;
      if (options.wholeSecondsMin !== undefined && (ms % 1000 !== 0 || ms < options.wholeSecondsMin * 1000)) return BAD;
      if (options.max !== undefined && ms > options.max) return BAD;
      return ok(ms);
    },
    format: formatDuration,
  };
}

function durationMs(raw: unknown, bareSeconds: boolean): number | undefined {
  if (raw === 0) return 0;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (bareSeconds && DECIMAL_TEXT.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
  }
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

const TRUE_WORDS = new Set(['1', 'true', 'yes']);
const FALSE_WORDS = new Set(['0', 'false', 'no']);

export function bool(): ValueType<boolean> {
  return {
    kind: 'bool',
    expected: 'true or false (also 1/0, yes/no)',
    parse(raw) {
      if (typeof raw === 'boolean') return ok(raw);
      if (typeof raw !== 'string') return BAD;
      const word = raw.trim().toLowerCase();
      return TRUE_WORDS.has(word) ? ok(true) : FALSE_WORDS.has(word) ? ok(false) : BAD;
    },
    format: String,
  };
}

/** A scalar as text: YAML may write an ID or a port-less name as a number. */
function scalarText(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  return undefined;
}

export function text(options: { expected: string; valid: (s: string) => boolean }): ValueType<string> {
  return {
    kind: 'string',
    expected: options.expected,
    parse(raw) {
      const s = scalarText(raw);
      return s !== undefined && options.valid(s) ? ok(s) : BAD;
    },
    format: (s) => s,
  };
}

export function oneOf<const V extends string>(values: readonly V[]): ValueType<V> {
  return {
    kind: 'enum',
    expected: `one of ${values.join(', ')}`,
    choices: values,
    parse(raw) {
      const s = typeof raw === 'string' ? raw.trim() : undefined;
      return s !== undefined && (values as readonly string[]).includes(s) ? ok(s as V) : BAD;
    },
    format: (v) => v,
  };
}

/** Text is split on commas; YAML and flags may give an array. Entries are trimmed; empty entries are refused. */
export function list(options: { expected: string; item: (s: string) => boolean; minItems: number }): ValueType<readonly string[]> {
  return {
    kind: 'list',
    expected: options.expected,
    parse(raw) {
      if (typeof raw === 'string' && raw.trim() === '') return options.minItems === 0 ? ok([]) : BAD;
      const parts = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw.map(scalarText) : undefined;
      if (parts === undefined) return BAD;
      const items: string[] = [];
      for (const part of parts) {
        const item = part?.trim();
        if (item === undefined || item === '' || !options.item(item)) return BAD;
        items.push(item);
      }
      return items.length >= options.minItems ? ok(items) : BAD;
    },
    format: (items) => items.join(','),
  };
}
