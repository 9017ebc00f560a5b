import { InvalidArgumentError } from '../../../core/errors.js';
import { onlyArgs, stringArg, valueArg } from '../args.js';
import { InvalidMethodArgumentError } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { ObjectTypeDefinition } from '../objectType.js';

/**
 * A small persistent map saved only on deactivation (eviction, graceful stop): cheap writes, but a crash loses the
 * changes since its last save. Bounded so that one object's state stays a small row.
 */
export type KeyValueState = { entries: JsonObject };

export const KEY_VALUE_MAX_KEYS = 1000;
const KEY_MAX_LENGTH = 256;

function has(entries: JsonObject, key: string): boolean {
  return Object.hasOwn(entries, key);
}

export const keyValueType: ObjectTypeDefinition<KeyValueState> = {
  persistence: { kind: 'persistent', savePolicy: 'on-deactivate' },
  initialState: () => ({ entries: {} }),
  parseState(value: JsonValue): KeyValueState {
    if (!isJsonObject(value) || !isJsonObject(value.entries)) {
      throw new InvalidArgumentError('KeyValue state must be an object with an "entries" object');
    }
    if (Object.keys(value.entries).length > KEY_VALUE_MAX_KEYS) {
      throw new InvalidArgumentError(`KeyValue state has more than ${KEY_VALUE_MAX_KEYS} entries`);
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
      if (!has(state.entries, key) && Object.keys(state.entries).length >= KEY_VALUE_MAX_KEYS) {
        throw new InvalidMethodArgumentError('key', `is new, and the map already holds ${KEY_VALUE_MAX_KEYS} keys`);
      }
      return { result: { ok: true }, state: { entries: { ...state.entries, [key]: value } } };
    },
    delete: async (state, args) => {
      onlyArgs(args, ['key']);
      const key = stringArg(args, 'key', KEY_MAX_LENGTH);
      if (!has(state.entries, key)) return { result: { deleted: false } };
      const entries = { ...state.entries };
      delete entries[key];
      return { result: { deleted: true }, state: { entries } };
    },
    keys: async (state, args) => {
      onlyArgs(args, []);
      return { result: { keys: Object.keys(state.entries) } };
    },
  },
};
