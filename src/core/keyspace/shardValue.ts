import { InvalidArgumentError } from '../errors.js';

/** The flag with semantics: a pinned shard is never moved automatically. */
export const PINNED_FLAG = 'pinned';

/** A shard's placement as encoded in the value of `<prefix>/shard/<id>` (docs/UPSTREAM.md §2). */
export interface ShardValue {
  readonly target: string;
  readonly current: string;
  /** Every flag in order of appearance, unknown ones included, so that rewrites keep them. */
  readonly flags: readonly string[];
}

export interface ParsedShardValue {
  readonly value: ShardValue;
  /** Lenient-parse findings (extra node parts, empty flags); reported as data, never logged here. */
  readonly warnings: readonly string[];
}

/** Upstream's parseShardInfo: split on ",", trim, `f=` parts are flags anywhere, node parts fill target then current. */
export function parseShardValue(raw: string): ParsedShardValue {
  const nodeParts: string[] = [];
  const flags: string[] = [];
  const warnings: string[] = [];
  if (raw.length > 0) {
    for (const rawPart of raw.split(',')) {
      const part = rawPart.trim();
      if (part.startsWith('f=')) {
        const flag = part.slice(2);
        if (flag === '') warnings.push('empty flag ignored');
        else flags.push(flag);
      } else {
        nodeParts.push(part);
      }
    }
  }
  const extra = nodeParts.slice(2).filter((p) => p !== '');
  if (extra.length > 0) warnings.push(`extra node parts ignored: ${extra.join(',')}`);
  return { value: { target: nodeParts[0] ?? '', current: nodeParts[1] ?? '', flags }, warnings };
}

/** Why a node address cannot be stored in a shard value, or null when it can. */
export function nodeAddressProblem(address: string): string | null {
  if (address.includes(',')) return 'contains ","';
  if (address.trim() !== address) return 'has leading or trailing white space';
  if (address.startsWith('f=')) return 'starts with "f=" (would read back as a flag)';
  return null;
}

/** Upstream's formatShardInfo: `target,current` then `,f=<flag>` per non-empty trimmed flag. */
export function formatShardValue(value: ShardValue): string {
  for (const [role, address] of [
    ['target', value.target],
    ['current', value.current],
  ] as const) {
    const problem = nodeAddressProblem(address);
    if (problem !== null) throw new InvalidArgumentError(`${role} node ${JSON.stringify(address)} ${problem}`);
  }
  let out = `${value.target},${value.current}`;
  for (const raw of value.flags) {
    const flag = raw.trim();
    if (flag === '') continue;
    if (flag.includes(',')) throw new InvalidArgumentError(`flag ${JSON.stringify(flag)} contains ","`);
    out += `,f=${flag}`;
  }
  return out;
}

export function isPinned(value: ShardValue): boolean {
  return value.flags.includes(PINNED_FLAG);
}

/** Returns the value with the pinned flag set or cleared; other flags keep their order. */
export function withPinned(value: ShardValue, pinned: boolean): ShardValue {
  const others = value.flags.filter((f) => f !== PINNED_FLAG);
  return { ...value, flags: pinned ? [...others, PINNED_FLAG] : others };
}
