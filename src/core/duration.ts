import { InvalidArgumentError } from './errors.js';

/** The accepted form, quoted in every error about a duration. */
export const DURATION_FORM = 'a duration such as 500ms, 10s, 1m or 1m30s (units ns, us, ms, s, m, h)';

// Nanoseconds per unit, as BigInt so that "1.1s" is exactly 1100 ms (float arithmetic would give 1100.0000000000002).
const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const COMPONENT = /(\d*)(?:\.(\d*))?([a-zµμ]+)/y;
const MAX_MS = BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000n;

/**
 * Parses a Go-style duration (`500ms`, `10s`, `1m30s`, `1.5s`, `2h`, or a bare `0`) into milliseconds. Negative
 * durations are refused: no setting means anything by them. Sub-millisecond parts give fractional milliseconds.
 */
export function parseDuration(text: string): number {
  const fail = (): never => {
    throw new InvalidArgumentError(`invalid duration ${JSON.stringify(text)}: expected ${DURATION_FORM}`);
  };
  const s = text.startsWith('+') ? text.slice(1) : text;
  if (s === '0') return 0;
  if (s === '') fail();
  let ns = 0n;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < s.length) {
    const m = COMPONENT.exec(s);
    if (m === null) return fail();
    const [, whole = '', fraction = '', unit = ''] = m;
    const unitNs = UNIT_NS[unit];
    if (unitNs === undefined || (whole === '' && fraction === '')) return fail();
    ns += BigInt(whole || '0') * unitNs;
    if (fraction !== '') ns += (BigInt(fraction) * unitNs) / 10n ** BigInt(fraction.length);
    if (ns > MAX_MS) fail();
  }
  return Number(ns) / 1e6;
}

/** Display form that parseDuration reads back: `0s`, `250ms`, `1.5s`, `1m30s`, `2h`, `500us`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms === 0) return '0s';
  if (ms < 0.001) return `${trimDecimals(ms * 1e6, 0)}ns`;
  if (ms < 1) return `${trimDecimals(ms * 1000, 3)}us`;
  if (ms < 1000) return `${trimDecimals(ms, 3)}ms`;
  // Round to whole milliseconds first so that 59999.9 becomes 1m, never 60s.
  const total = Math.round(ms);
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const millis = total % 60_000;
  let out = '';
  if (hours > 0) out += `${hours}h`;
  if (minutes > 0) out += `${minutes}m`;
  if (millis > 0) out += `${trimDecimals(millis / 1000, 3)}s`;
  return out;
}

function trimDecimals(value: number, digits: number): string {
  return String(Number(value.toFixed(digits)));
}
