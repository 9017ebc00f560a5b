import { isJsonObject, type JsonObject, type JsonValue } from '../../../core/api/json.js';
import { settingLabel } from '../../../core/config/settings.js';
import { InvalidArgumentError } from '../../../core/errors.js';
import { onlyArgs, stringArg, valueArg } from '../args.js';
import { InvalidMethodArgumentError, StateTooLargeError } from '../errors.js';
import type { ObjectTypeDefinition } from '../objectType.js';

/**
 * A small persistent map saved only on deactivation (eviction, graceful stop): cheap writes, but a crash loses the
 * changes since its last save. Bounded in keys and in bytes, so that one object's state stays a small row.
 */
export type KeyValueState = { entries: JsonObject };

export const KEY_VALUE_MAX_KEYS = 1000;
const KEY_MAX_LENGTH = 256;

export interface KeyValueOptions {
  /** Largest state, in bytes of its stored JSON (`keyValueMaxBytes`). */
  readonly maxBytes: number;
}

function has(entries: JsonObject, key: string): boolean {
  return Object.hasOwn(entries, key);
}

function jsonBytes(value: JsonValue): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** `"key":value` inside the stored JSON. */
function entryBytes(key: string, value: JsonValue): number {
  return jsonBytes(key) + 1 + jsonBytes(value);
}

/**
 * Stored size by entries object. States are immutable, so a size computed once stays true, and a put or delete
 * derives the new size from the old one and the entry it changes instead of serialising the whole map again.
 */
const sizes = new WeakMap<JsonObject, number>();

/** Bytes of `JSON.stringify({ entries })`. */
export function keyValueStateBytes(entries: JsonObject): number {
  let size = sizes.get(entries);
  if (size === undefined) sizes.set(entries, (size = jsonBytes({ entries })));
  return size;
}

function sized(entries: JsonObject, size: number): JsonObject {
  sizes.set(entries, size);
  return entries;
}

export function keyValueType(options: KeyValueOptions): ObjectTypeDefinition<KeyValueState> {
  const { maxBytes } = options;
  const refuse = (size: number): never => {
    throw new StateTooLargeError('KeyValue', size, maxBytes, settingLabel('keyValueMaxBytes'));
  };
  return {
    persistence: { kind: 'persistent', savePolicy: 'on-deactivate' },
    initialState: () => ({ entries: {} }),
    parseState(value, origin): KeyValueState {
      if (!isJsonObject(value) || !isJsonObject(value.entries)) {
        throw new InvalidArgumentError('KeyValue state must be an object with an "entries" object');
      }
      if (Object.keys(value.entries).length > KEY_VALUE_MAX_KEYS) {
        throw new InvalidArgumentError(`KeyValue state has more than ${KEY_VALUE_MAX_KEYS} entries`);
      }
      if (origin === 'created') {
        const size = keyValueStateBytes(value.entries);
        if (size > maxBytes) refuse(size);
      }
      return { entries: value.entries };
    },
    methods: {
      get: async (state, args) => {
        onlyArgs(args, ['key']);
        const key = stringArg(args, 'key', KEY_MAX_LENGTH);
        const found = has(state.entries, key);
        return { result: { found, value: found ? state.entries[key]! : null } };
      },
      put: async (state, args) => {
        onlyArgs(args, ['key', 'value']);
        const key = stringArg(args, 'key', KEY_MAX_LENGTH);
        const value = valueArg(args, 'value');
        const existed = has(state.entries, key);
        const count = Object.keys(state.entries).length;
        if (!existed && count >= KEY_VALUE_MAX_KEYS) {
          throw new InvalidMethodArgumentError('key', `is new, and the map already holds ${KEY_VALUE_MAX_KEYS} keys`);
        }
        const before = keyValueStateBytes(state.entries);
        const size = existed
          ? before - entryBytes(key, state.entries[key]!) + entryBytes(key, value)
          : before + entryBytes(key, value) + (count > 0 ? 1 : 0);
        if (size > maxBytes) refuse(size);
        return { result: { ok: true }, state: { entries: sized({ ...state.entries, [key]: value }, size) } };
      },
      delete: async (state, args) => {
        onlyArgs(args, ['key']);
        const key = stringArg(args, 'key', KEY_MAX_LENGTH);
        if (!has(state.entries, key)) return { result: { deleted: false } };
        const before = keyValueStateBytes(state.entries);
        const entries = { ...state.entries };
        delete entries[key];
        const size = before - entryBytes(key, state.entries[key]!) - (Object.keys(entries).length > 0 ? 1 : 0);
        return { result: { deleted: true }, state: { entries: sized(entries, size) } };
      },
      keys: async (state, args) => {
        onlyArgs(args, []);
        return { result: { keys: Object.keys(state.entries) } };
      },
    },
  };
}
