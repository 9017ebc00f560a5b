import type { JsonObject, JsonValue } from '../../core/api/json.js';

/**
 * What an object type is: its initial state, how a stored state is validated, its methods and how its state is
 * persisted. States are JSON and treated as immutable: a method returns a new state instead of changing the one it
 * was given, so the host can keep the old state when saving the new one fails.
 */
export type SavePolicy =
  /** Saved before the call's reply: an acknowledged change is durable. */
  | 'write-through'
  /** Saved when the object is deactivated (eviction, graceful stop): a crash loses changes since the last save. */
  | 'on-deactivate';

export type Persistence = { readonly kind: 'transient' } | { readonly kind: 'persistent'; readonly savePolicy: SavePolicy };

/**
 * Where a state to parse comes from: `stored` (read back from the store: accepted when well-formed, even if write
 * limits have been lowered since) or `created` (given by a client at creation: every write limit applies).
 */
export type StateOrigin = 'stored' | 'created';

export interface MethodContext {
  readonly type: string;
  readonly id: string;
  /** Aborted when the caller gives up or the shard lock is taken away; long methods should stop. */
  readonly signal: AbortSignal;
}

export interface MethodOutcome<S> {
  readonly result: JsonValue;
  /** The new state; omitted when the method changed nothing (then nothing is saved). */
  readonly state?: S;
}

export type MethodHandler<S> = (state: S, args: JsonObject, ctx: MethodContext) => Promise<MethodOutcome<S>>;

export interface ObjectTypeDefinition<S extends JsonValue> {
  readonly persistence: Persistence;
  initialState(id: string): S;
  /** Validates a state read from the store or given to `create`; throws InvalidArgumentError naming the problem. */
  parseState(value: JsonValue, origin: StateOrigin): S;
  readonly methods: Readonly<Record<string, MethodHandler<S>>>;
}

/** A registered type, its state type erased: the host only passes states between the type's own functions. */
export interface ObjectType {
  readonly name: string;
  readonly persistence: Persistence;
  readonly methodNames: readonly string[];
  initialState(id: string): JsonValue;
  parseState(value: JsonValue, origin: StateOrigin): JsonValue;
  /** Throws UnknownMethodError. */
  method(name: string): MethodHandler<JsonValue>;
}
