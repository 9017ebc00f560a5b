import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { JsonValue } from '../../core/api/json.js';
import { type CallReply, type CreateReply, type DeleteReply, OBJECT_API_PATHS } from '../../core/api/objectApi.js';
import type { Clock } from '../../core/clock.js';
import { GoverseError, InvalidArgumentError, TimeoutError } from '../../core/errors.js';
import type { ObjectPlacement } from '../../core/sharding/objectId.js';
import type { BodyBudget } from '../../edge/http/bodyBudget.js';
import { readJsonObject, sendJson } from '../../edge/http/json.js';
import { Router } from '../../edge/http/server.js';
import type { NodeMetricsRegistry } from '../metrics.js';
import { UnknownMethodError, UnknownObjectTypeError } from '../objects/errors.js';
import type { ObjectHost } from '../objects/objectHost.js';

export const API_BODY_LIMIT = 1024 * 1024;
const MAX_TIMEOUT_MS = 10 * 60_000;

export interface ObjectApiOptions {
  readonly host: ObjectHost;
  readonly metrics: NodeMetricsRegistry;
  /** Where an object lives now (see ObjectHostOptions.place); validates the ID. */
  readonly place: (id: string) => ObjectPlacement;
  readonly clock: Clock;
  readonly timeouts: { readonly callMs: number; readonly createMs: number; readonly deleteMs: number };
  /** The process-wide budget of buffered request bodies. */
  readonly bodies: BodyBudget;
}

/**
 * The object API on `--listen` (the contract: src/core/api/objectApi.ts):
 *   POST /v1/objects/call   {type, id, method, args?, timeoutMs?} -> {result}
 *   POST /v1/objects/create {type, id, state?, timeoutMs?}        -> {created}
 *   POST /v1/objects/delete {type, id, timeoutMs?}                -> {existed}
 * Every bad request is a 4xx JSON error naming the problem; a shard this node does not serve now is a 503 with
 * `retriable: true` (the client routes again).
 */
export function objectApiRouter(options: ObjectApiOptions, router: Router = new Router()): Router {
  const { host, metrics, clock, timeouts } = options;
  const limits = { maxBytes: API_BODY_LIMIT, budget: options.bodies };

  router.on('POST', OBJECT_API_PATHS.call, async (req, res) => {
    const body = await readJsonObject(req, limits);
    const type = stringField(body, 'type');
    const id = stringField(body, 'id');
    const method = stringField(body, 'method');
    const args = body.args === undefined ? {} : (body.args as JsonValue);
    const shard = shardOf(id, options.place);
    await timed(metrics, 'CallObject', clock, res, body, timeouts.callMs, async (wait): Promise<CallReply> => {
      const started = clock.monotonic();
      try {
        const result = await host.call(type, id, method, args, wait);
        metrics.recordCall(type, method, shard, 'success', (clock.monotonic() - started) / 1000);
        return { result };
      } catch (err) {
        if (wasExecuted(err)) metrics.recordCall(type, method, shard, 'failure', (clock.monotonic() - started) / 1000);
        throw err;
      }
    });
  });

  router.on('POST', OBJECT_API_PATHS.create, async (req, res) => {
    const body = await readJsonObject(req, limits);
    const type = stringField(body, 'type');
    const id = stringField(body, 'id');
    const state = body.state === undefined ? undefined : (body.state as JsonValue);
    await timed(metrics, 'CreateObject', clock, res, body, timeouts.createMs, (wait) => host.create(type, id, state, wait));
  });

  router.on('POST', OBJECT_API_PATHS.delete, async (req, res) => {
    const body = await readJsonObject(req, limits);
    const type = stringField(body, 'type');
    const id = stringField(body, 'id');
    await timed(metrics, 'DeleteObject', clock, res, body, timeouts.deleteMs, (wait) => host.delete(type, id, wait));
  });

  return router;
}

/** Runs an operation with its deadline and the client's disconnect as abort, recording the operation metric. */
async function timed(
  metrics: NodeMetricsRegistry,
  operation: 'CallObject' | 'CreateObject' | 'DeleteObject',
  clock: Clock,
  res: ServerResponse,
  body: Record<string, unknown>,
  defaultTimeoutMs: number,
  run: (wait: { signal: AbortSignal; deadline: number }) => Promise<CallReply | CreateReply | DeleteReply>,
): Promise<void> {
  const timeoutMs = body.timeoutMs === undefined ? defaultTimeoutMs : timeoutField(body.timeoutMs);
  const started = clock.monotonic();
  try {
    const out = await run({ signal: disconnectSignal(res.socket), deadline: started + timeoutMs });
    metrics.recordOperation(operation, 'success', (clock.monotonic() - started) / 1000);
    sendJson(res, 200, out);
  } catch (err) {
    metrics.recordOperation(operation, err instanceof TimeoutError ? 'timeout' : 'error', (clock.monotonic() - started) / 1000);
    throw err;
  }
}

const disconnects = new WeakMap<Socket, AbortSignal>();
const GONE = AbortSignal.abort(new InvalidArgumentError('client went away'));

/**
 * Aborts when the client's connection closes. One per connection, not per request: a kept-alive connection carries
 * one request at a time, so its close means the client of the request in flight went away, and the hot path saves
 * an AbortController and a pair of listeners per call.
 */
function disconnectSignal(socket: Socket | null): AbortSignal {
  if (socket === null || socket.destroyed) return GONE;
  let signal = disconnects.get(socket);
  if (signal === undefined) {
    const abort = new AbortController();
    socket.once('close', () => abort.abort(new InvalidArgumentError('client went away')));
    disconnects.set(socket, (signal = abort.signal));
  }
  return signal;
}

function stringField(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || v === '') throw new InvalidArgumentError(`field "${name}" must be a non-empty string`);
  return v;
}

function timeoutField(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_TIMEOUT_MS) {
    throw new InvalidArgumentError(`field "timeoutMs" must be a number of milliseconds in (0, ${MAX_TIMEOUT_MS}]`);
  }
  return v;
}

function shardOf(id: string, place: (id: string) => ObjectPlacement): number | null {
  const p = place(id); // validates the ID first: an invalid one is a 400
  return p.kind === 'shard' ? p.shardId : null;
}

/**
 * Whether a failed call counts as a method call: a refusal to serve here (not the owner, fenced) is routing, and an
 * unknown type or method never ran (counting it would also let any client create metric series at will).
 */
function wasExecuted(err: unknown): boolean {
  if (err instanceof UnknownObjectTypeError || err instanceof UnknownMethodError) return false;
  return !(err instanceof GoverseError && (err.code === 'not_owner' || err.code === 'fenced'));
}
