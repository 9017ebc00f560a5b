/**
 * The object API contract between the nodes (src/node/http/api.ts serves it on `--listen`) and the routing client
 * (src/client): JSON bodies in, JSON out, every route a POST. A bad request is a 4xx with an ErrorBody; a shard the
 * node does not serve now is a 503 whose body says `retriable: true` (the client routes again).
 */
import type { JsonObject, JsonValue } from './json.js';

export type ObjectOperation = 'call' | 'create' | 'delete';

export const OBJECT_API_PATHS: Readonly<Record<ObjectOperation, string>> = {
  call: '/v1/objects/call',
  create: '/v1/objects/create',
  delete: '/v1/objects/delete',
};

/** Every request may carry `timeoutMs`: the node's deadline for the operation (default: the node's setting). */
interface ObjectRequest {
  readonly type: string;
  readonly id: string;
  readonly timeoutMs?: number;
}

/** Calls `method` on the object, activating it where it lives. */
export interface CallRequest extends ObjectRequest {
  readonly method: string;
  /** Default `{}`. */
  readonly args?: JsonObject;
}

export interface CallReply {
  readonly result: JsonValue;
}

/** Activates the object, with `state` if it does not exist yet. */
export interface CreateRequest extends ObjectRequest {
  readonly state?: JsonValue;
}

export interface CreateReply {
  /** False when the object already existed. */
  readonly created: boolean;
}

/** Deactivates the object and deletes its stored state. */
export type DeleteRequest = ObjectRequest;

export interface DeleteReply {
  /** False when there was nothing to delete. */
  readonly existed: boolean;
}
