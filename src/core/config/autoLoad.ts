import type { Parsed, ValueType } from './valueTypes.js';

/**
 * Upstream's auto-load entries (docs/UPSTREAM.md §6.3): `single` creates the object on the node owning its shard,
 * `per-shard` one object per owned shard (`shard#<n>/<id>`), `per-node` one per node (`<addr>/<id>`).
 */
export type AutoLoadPlacement = 'single' | 'per-shard' | 'per-node';

export interface AutoLoadObject {
  readonly type: string;
  readonly id: string;
  readonly placement: AutoLoadPlacement;
}

const ENTRY_FORM = 'a mapping with type, id and optionally per_shard or per_node';

function problem(at: string, value: unknown, expected: string): Parsed<never> {
  return { ok: false, at: { path: at, value }, expected };
}

function entryField(entry: Record<string, unknown>, key: string, i: number): Parsed<string> {
  const v = entry[key];
  if (typeof v === 'string' && v.trim() !== '') return { ok: true, value: v.trim() };
  if (typeof v === 'number' && Number.isFinite(v)) return { ok: true, value: String(v) };
  return problem(`[${i}].${key}`, v, `a non-empty object ${key === 'id' ? 'ID' : 'type name'}`);
}

function entryFlag(entry: Record<string, unknown>, key: string, i: number): Parsed<boolean> {
  const v = entry[key];
  if (v === undefined || v === null) return { ok: true, value: false };
  return typeof v === 'boolean' ? { ok: true, value: v } : problem(`[${i}].${key}`, v, 'true or false');
}

/** YAML only (`cluster.auto_load_objects`): structured entries have no sensible env or flag spelling. */
export const autoLoadObjects: ValueType<readonly AutoLoadObject[]> = {
  kind: 'objects',
  expected: 'a list of {type, id, per_shard, per_node} entries',
  parse(raw) {
    if (raw === null) return { ok: true, value: [] };
    if (!Array.isArray(raw)) return { ok: false };
    const out: AutoLoadObject[] = [];
    for (const [i, entry] of raw.entries()) {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return problem(`[${i}]`, entry, ENTRY_FORM);
      const fields = entry as Record<string, unknown>;
      const type = entryField(fields, 'type', i);
      if (!type.ok) return type;
      const id = entryField(fields, 'id', i);
      if (!id.ok) return id;
      const perShard = entryFlag(fields, 'per_shard', i);
      if (!perShard.ok) return perShard;
      const perNode = entryFlag(fields, 'per_node', i);
      if (!perNode.ok) return perNode;
      if (perShard.value && perNode.value) {
        return problem(`[${i}]`, entry, 'at most one of per_shard and per_node (they are mutually exclusive)');
      }
      out.push({ type: type.value, id: id.value, placement: perShard.value ? 'per-shard' : perNode.value ? 'per-node' : 'single' });
    }
    return { ok: true, value: out };
  },
  format: (objects) => (objects.length === 0 ? 'none' : objects.map((o) => `${o.type}:${o.id} (${o.placement})`).join(', ')),
};
