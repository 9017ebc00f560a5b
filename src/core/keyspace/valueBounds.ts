import { ValueTooLargeError } from '../errors.js';
import type { KeyClass, Keyspace } from './keys.js';

const KIB = 1024;

/** The bound of most values: node keys, shard values and the small JSON records (legitimate ones stay below 1 KiB). */
export const DEFAULT_VALUE_BOUND = 64 * KIB;
/** Load reports (up to 4,096 per-shard entries) and the balancer status may be larger. */
export const LARGE_VALUE_BOUND = 1024 * KIB;
/** History entries are smaller: there are thousands of them, and writers summarize long lists (core/history). */
export const HISTORY_VALUE_BOUND = 16 * KIB;

/** The largest value, in UTF-8 bytes, read or written under a key of this class; larger ones are malformed. */
export function valueBound(kind: KeyClass['kind']): number {
  if (kind === 'history') return HISTORY_VALUE_BOUND;
  return kind === 'load' || kind === 'balancer-status' ? LARGE_VALUE_BOUND : DEFAULT_VALUE_BOUND;
}

/**
 * Throws ValueTooLargeError when `value` exceeds the bound of `key`'s class. Every writer checks the values it builds
 * (from addresses, shard values and flags that anyone with etcd access may have written), so nothing it writes is
 * larger than what readers accept.
 */
export function checkValueSize(keys: Keyspace, key: string, value: string): void {
  const cls = keys.classify(key, Number.MAX_SAFE_INTEGER);
  const reason = oversizeReason(value, valueBound(cls.kind));
  if (reason !== null) throw new ValueTooLargeError(key, reason);
}

/** UTF-8 length of a string (lone surrogates count as the 3 bytes of U+FFFD, as the encoder writes them). */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Why the value is too big for `bound`, or null. Cheap for short values (3 bytes per UTF-16 unit at most). */
export function oversizeReason(value: string, bound: number): string | null {
  if (value.length * 3 <= bound) return null;
  const bytes = utf8Length(value);
  return bytes > bound ? `value of ${formatBytes(bytes)} exceeds the ${formatBytes(bound)} bound` : null;
}

function formatBytes(bytes: number): string {
  return bytes < KIB ? `${bytes} B` : bytes < 1024 * KIB ? `${+(bytes / KIB).toFixed(1)} KiB` : `${+(bytes / (1024 * KIB)).toFixed(1)} MiB`;
}
