import type { JsonObject, JsonValue } from '../core/api/json.js';
import {
  type CallReply,
  type CallRequest,
  type CreateReply,
  type CreateRequest,
  type DeleteReply,
  type DeleteRequest,
  OBJECT_API_PATHS,
  type ObjectOperation,
} from '../core/api/objectApi.js';
import { type Clock, systemClock } from '../core/clock.js';
import { TimeoutError } from '../core/errors.js';
import { DEFAULT_PREFIX, Keyspace } from '../core/keyspace/keys.js';
import { type Logger, nullLogger } from '../core/log/logger.js';
import { DEFAULT_NUM_SHARDS } from '../core/sharding/objectId.js';
import { type ConfiguredShardCount, configuredCountProblem } from '../core/snapshot/layout.js';
import type { ClusterSnapshot } from '../core/snapshot/snapshot.js';
import type { EtcdClient } from '../edge/etcd/client.js';
import { readSnapshot } from '../edge/etcd/readSnapshot.js';
import { sleep } from '../edge/timing.js';
import { ClusterWatcher } from '../edge/etcd/watcher.js';
import { CallAbortedError, CallTimeoutError, type CallTrace, NoRouteError, RemoteError } from './errors.js';
import { afterFailure, DEFAULT_RETRY_POLICY, replyError, type RetryPolicy, socketError } from './retry.js';
import { routeObject } from './route.js';
import { HttpTransport } from './transport.js';

/** Where routing comes from; asked before every attempt, so a retry routes with what the cluster says now. */
export type RoutingSource = () => ClusterSnapshot | Promise<ClusterSnapshot>;

export interface CallOptions {
  /** Deadline of the whole call, retries included. Default: the client's `timeoutMs`. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** A retriable failure the client is about to retry (for logging, metrics and tests). */
export interface RetryEvent {
  readonly trace: CallTrace;
  readonly error: unknown;
  readonly delayMs: number;
}

export interface GoverseClientOptions {
  readonly routing: RoutingSource;
  /** Default deadline of a call, retries included. Default 10 s. */
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
  /** Connections kept per node. Default: unbounded (one per concurrent request). */
  readonly maxSocketsPerNode?: number;
  readonly onRetry?: (event: RetryEvent) => void;
  readonly clock?: Clock;
  /** Run by close() (stops the watcher a factory started). */
  readonly onClose?: () => Promise<void>;
}

/** Options of the factories that route through etcd. */
export interface EtcdRoutingOptions extends Omit<GoverseClientOptions, 'routing' | 'onClose'> {
  /** The caller's etcd client; the GoverseClient does not close it. */
  readonly etcd: EtcdClient;
  /** The cluster's etcd prefix. Default `/goverse`. */
  readonly prefix?: string;
  /**
   * The shard count the caller expects. Omitted, the cluster's record decides (8192 for a cluster without one); given,
   * it must agree with the record (or with either count of a transition under way) when the client starts (`watching`)
   * or reads (`oneShot`), else that fails with a ConfigError naming both (docs/RESHARDING.md §3).
   */
  readonly numShards?: number;
  readonly logger?: Logger;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The routing client: sends object calls, creations and deletions to the node that serves the object now (the
 * shard's CurrentNode, or the node of a fixed-node ID), over keep-alive HTTP, and retries retriable failures with
 * capped exponential backoff and jitter until the deadline, re-routing on each attempt. A call ends with its result,
 * or with a typed error that carries a CallTrace (shard, last node, attempts): the node's non-retriable RemoteError,
 * CallTimeoutError or CallAbortedError (their `cause` is the last failure), or InvalidObjectIdError at once.
 *
 * A retried call may run twice on the object (a reply lost after the node applied it): make changes idempotent,
 * for example with a `requestId` argument, which the built-in Counter remembers.
 */
export class GoverseClient {
  private readonly routing: RoutingSource;
  private readonly transport: HttpTransport;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  private readonly clock: Clock;
  private closed = false;

  constructor(private readonly options: GoverseClientOptions) {
    this.routing = options.routing;
    this.transport = new HttpTransport(options.maxSocketsPerNode === undefined ? {} : { maxSocketsPerNode: options.maxSocketsPerNode });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.policy = options.retry ?? DEFAULT_RETRY_POLICY;
    this.clock = options.clock ?? systemClock;
  }

  /** For long-lived clients: routes through a ClusterWatcher (list-then-watch); resolves after its first load. */
  static async watching(options: EtcdRoutingOptions & { readonly signal?: AbortSignal }): Promise<GoverseClient> {
    const watcher = new ClusterWatcher({
      client: options.etcd,
      keys: new Keyspace(options.prefix ?? DEFAULT_PREFIX),
      numShards: options.numShards ?? DEFAULT_NUM_SHARDS,
      logger: options.logger ?? nullLogger,
    });
    await watcher.start(options.signal === undefined ? {} : { signal: options.signal });
    const expected = expectedCount(options);
    const problem = configuredCountProblem(watcher.snapshot, expected);
    if (problem !== null) {
      await watcher.stop();
      throw problem;
    }
    // Checked once, as a node checks at start: from then on the client follows the record through its watch.
    return new GoverseClient({ ...options, routing: () => watcher.snapshot, onClose: () => watcher.stop() });
  }

  /** For one-shot use (a CLI command): each attempt reads a fresh snapshot; no watch is kept. */
  static oneShot(options: EtcdRoutingOptions): GoverseClient {
    const keys = new Keyspace(options.prefix ?? DEFAULT_PREFIX);
    const expected = expectedCount(options);
    return new GoverseClient({ ...options, routing: async () => checked(await readSnapshot(options.etcd, keys, expected.count), expected) });
  }

  /** Calls `method` on the object (activating it where it lives) and returns the method's result. */
  async call(type: string, id: string, method: string, args: JsonObject = {}, options: CallOptions = {}): Promise<JsonValue> {
    const request = (timeoutMs: number): CallRequest => ({ type, id, method, args, timeoutMs });
    const reply = await this.run('call', type, id, method, request, options);
    return field<CallReply, 'result'>(reply, 'result', (v): v is JsonValue => v !== undefined);
  }

  /** Activates the object, with `state` if it does not exist yet; `created` is false when it already existed. */
  async create(type: string, id: string, state?: JsonValue, options: CallOptions = {}): Promise<{ created: boolean }> {
    const request = (timeoutMs: number): CreateRequest => ({ type, id, ...(state === undefined ? {} : { state }), timeoutMs });
    const reply = await this.run('create', type, id, null, request, options);
    return { created: field<CreateReply, 'created'>(reply, 'created', (v): v is boolean => typeof v === 'boolean') };
  }

  /** Deactivates the object and deletes its stored state; `existed` is false when there was nothing to delete. */
  async delete(type: string, id: string, options: CallOptions = {}): Promise<{ existed: boolean }> {
    const request = (timeoutMs: number): DeleteRequest => ({ type, id, timeoutMs });
    const reply = await this.run('delete', type, id, null, request, options);
    return { existed: field<DeleteReply, 'existed'>(reply, 'existed', (v): v is boolean => typeof v === 'boolean') };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
    await this.options.onClose?.();
  }

  /** One request with its retries: route, send, and on a retriable failure back off and route again. */
  private async run(
    operation: ObjectOperation,
    type: string,
    id: string,
    method: string | null,
    request: (timeoutMs: number) => CallRequest | CreateRequest | DeleteRequest,
    options: CallOptions,
  ): Promise<{ reply: Record<string, unknown>; node: string }> {
    const path = OBJECT_API_PATHS[operation];
    const { clock } = this;
    const started = clock.monotonic();
    const deadline = started + (options.timeoutMs ?? this.timeoutMs);
    const signal = options.signal;
    let attempts = 0;
    let shard: number | null = null;
    let node: string | null = null;
    let last: unknown = undefined;
    const trace = (): CallTrace => ({ operation, type, id, method, shard, node, attempts, elapsedMs: clock.monotonic() - started });
    for (;;) {
      if (signal?.aborted) throw new CallAbortedError(trace(), last ?? signal.reason);
      const remaining = deadline - clock.monotonic();
      if (remaining <= 0) throw new CallTimeoutError(trace(), last);
      attempts++;
      let failure: unknown;
      try {
        const route = routeObject(await this.routing(), id);
        shard = route instanceof NoRouteError ? route.shardId : route.shard;
        if (route instanceof NoRouteError) {
          failure = route;
        } else {
          node = route.node;
          const outcome = await this.transport.post(route.apiUrl, path, JSON.stringify(request(Math.ceil(remaining))), remaining, signal);
          switch (outcome.kind) {
            case 'reply':
              if (outcome.status >= 200 && outcome.status < 300) return { reply: parseReply(route.node, outcome.status, outcome.text), node: route.node };
              failure = replyError(route.node, outcome.status, outcome.text);
              break;
            case 'socket-error':
              failure = socketError(route.node, outcome.error);
              break;
            case 'timeout':
              throw new CallTimeoutError(trace(), new TimeoutError(`no reply from ${route.node} before the deadline`, { cause: last }));
            case 'aborted':
              throw new CallAbortedError(trace(), last ?? signal?.reason);
          }
        }
      } catch (err) {
        if (err instanceof CallTimeoutError || err instanceof CallAbortedError) throw err;
        failure = err; // the routing source failed (etcd), or the ID is invalid
      }
      last = failure;
      const decision = afterFailure(failure, attempts - 1, deadline - clock.monotonic(), this.policy);
      if (decision.kind === 'stop') {
        if (decision.why === 'deadline') throw new CallTimeoutError(trace(), failure);
        if (failure instanceof RemoteError) failure.trace = trace();
        throw failure;
      }
      this.options.onRetry?.({ trace: trace(), error: failure, delayMs: decision.delayMs });
      await sleep(decision.delayMs, signal);
    }
  }
}

function expectedCount(options: EtcdRoutingOptions): ConfiguredShardCount {
  return { count: options.numShards ?? DEFAULT_NUM_SHARDS, explicit: options.numShards === undefined ? null : 'client option numShards' };
}

/** The snapshot, unless its shard count rules out routing with it (a ConfigError: not retriable). */
function checked(snapshot: ClusterSnapshot, expected: ConfiguredShardCount): ClusterSnapshot {
  const problem = configuredCountProblem(snapshot, expected);
  if (problem !== null) throw problem;
  return snapshot;
}

function parseReply(node: string, status: number, text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new RemoteError(status, 'internal', 'HttpError', `reply is not a JSON object: ${JSON.stringify(text.slice(0, 200))}`, node, false);
}

/** A field of a node's 2xx reply, checked: the reply is untrusted like any network input. */
function field<R, K extends keyof R & string>(reply: { reply: Record<string, unknown>; node: string }, name: K, valid: (v: unknown) => v is R[K]): R[K] {
  const v = reply.reply[name];
  if (!valid(v)) throw new RemoteError(200, 'internal', 'HttpError', `reply has no valid "${name}" field`, reply.node, false);
  return v;
}
