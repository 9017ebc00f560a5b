import { isJsonObject, type JsonObject, type JsonValue } from '../../../core/api/json.js';
import { InvalidArgumentError } from '../../../core/errors.js';
import { integerArg, onlyArgs } from '../args.js';
import { InvalidMethodArgumentError } from '../errors.js';
import type { MethodOutcome, ObjectTypeDefinition } from '../objectType.js';
import { findRecent, parseRecent, remember, requestIdArg, type RecentRequests } from '../recentRequests.js';

/**
 * A persistent counter, saved before every reply (write-through): an acknowledged increment is never lost, and a
 * retried one (same requestId) is applied once, even after the counter moved to another node.
 */
export type CounterState = { value: number; recent: RecentRequests };

/** Request IDs remembered per counter: enough for the retries of many concurrent clients, a few KB of state. */
export const COUNTER_RECENT_REQUESTS = 128;

const ADD_ARGS = ['amount', 'requestId'];

async function add(state: CounterState, args: JsonObject, fallbackAmount?: number): Promise<MethodOutcome<CounterState>> {
  onlyArgs(args, ADD_ARGS);
  const amount = integerArg(args, 'amount', fallbackAmount);
  const requestId = requestIdArg(args);
  if (requestId !== undefined) {
    const earlier = findRecent(state.recent, requestId);
    if (earlier !== undefined) return { result: earlier };
  }
  const value = state.value + amount;
  if (!Number.isSafeInteger(value)) throw new InvalidMethodArgumentError('amount', 'would take the counter past 2^53');
  const result = { value };
  const recent = requestId === undefined ? state.recent : remember(state.recent, requestId, result, COUNTER_RECENT_REQUESTS);
  return { result, state: { value, recent } };
}

export const counterType: ObjectTypeDefinition<CounterState> = {
  persistence: { kind: 'persistent', savePolicy: 'write-through' },
  initialState: () => ({ value: 0, recent: [] }),
  parseState(value: JsonValue): CounterState {
    if (!isJsonObject(value) || typeof value.value !== 'number' || !Number.isSafeInteger(value.value)) {
      throw new InvalidArgumentError('Counter state must be an object with an integer "value"');
    }
    return { value: value.value, recent: parseRecent(value.recent) };
  },
  methods: {
    add: (state, args) => add(state, args),
    increment: (state, args) => add(state, args, 1),
    get: async (state, args) => {
      onlyArgs(args, []);
      return { result: { value: state.value } };
    },
  },
};
