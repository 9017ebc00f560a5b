/**
 * Our etcd interface. Everything in the project talks to etcd through `EtcdClient`; etcd3 (and its gRPC and
 * cockatiel machinery) stays behind `createEtcdClient`. Revisions are numbers, lease IDs decimal strings, and every
 * failure is a typed GoverseError whose `retriable` bit callers can trust.
 */
import {
  circuitBreaker,
  ConsecutiveBreaker,
  ConstantBackoff,
  ExponentialBackoff,
  handleWhen,
  type IBackoff,
  isBrokenCircuitError,
  retry,
} from 'cockatiel';
import {
  castGrpcError,
  ClientClosedError,
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  EtcdWatchStreamEnded,
  GRPCAbortedError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCFailedPreconditionError,
  GRPCInternalError,
  GRPCInvalidArgumentError,
  GRPCNotFoundError,
  GRPCOutOfRangeError,
  GRPCResourceExhastedError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
  GRPCUnknownError,
  isRecoverableError,
  type IKeyValue,
  type IOptions,
  type IRequestOp,
  type IResponseHeader,
  type Watcher,
} from 'etcd3';
import {
  AbortedError,
  ConfigError,
  ConflictError,
  GoverseError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PreconditionError,
  TimeoutError,
  UnavailableError,
} from '../../core/errors.js';
import { type Logger, nullLogger } from '../../core/log/logger.js';
import type { Kv, KvEvent } from '../../core/snapshot/snapshot.js';
import { backoffDelay, sleep } from '../timing.js';
import { type EtcdTlsOptions, loadTlsFiles } from './tls.js';

/** etcd rejects a txn whose compares, success ops or failure ops (each counted separately) exceed this. */
export const MAX_TXN_OPS = 128;

export interface EtcdClientOptions {
  /** `host:port`, optionally with `http://` or `https://`. Calls fail over between them. */
  readonly endpoints: readonly string[];
  readonly tls?: EtcdTlsOptions;
  readonly auth?: { readonly username: string; readonly password: string };
  /** How long a call waits for a connection while none is established. Default 5000. */
  readonly dialTimeoutMs?: number;
  /** Default deadline of each call. Default 5000. */
  readonly callTimeoutMs?: number;
  /** Largest gRPC message accepted from etcd. Default DEFAULT_MAX_RECEIVE_BYTES. */
  readonly maxReceiveBytes?: number;
  readonly logger?: Logger;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** Overrides the client's default per-call deadline. */
  readonly timeoutMs?: number;
}

export interface PutOptions extends CallOptions {
  /** Attach the key to this lease (decimal lease ID). */
  readonly lease?: string;
}

export interface RangeResult {
  /** Sorted by key. */
  readonly kvs: readonly Kv[];
  /** The revision the read reflects (response header). */
  readonly revision: number;
}

/** `ModRevision(key) == modRevision`; 0 means the key must be absent. */
export interface TxnCompare {
  readonly key: string;
  readonly modRevision: number;
}

export type TxnOp =
  | { readonly type: 'put'; readonly key: string; readonly value: string; readonly lease?: string }
  | { readonly type: 'delete'; readonly key: string };

export interface TxnRequest {
  readonly compares: readonly TxnCompare[];
  /** Applied when every compare holds. */
  readonly success: readonly TxnOp[];
  /** Keys read in the failure branch, so a failed CAS reports the fresh values without another round trip. */
  readonly failureReads?: readonly string[];
}

export type TxnResult =
  | { readonly succeeded: true; readonly revision: number }
  /** `reads` holds the failure-branch keys that exist; a key missing from it is absent. */
  | { readonly succeeded: false; readonly revision: number; readonly reads: ReadonlyMap<string, Kv> };

export interface LeaseGrant {
  /** Decimal lease ID. */
  readonly id: string;
  readonly ttlSeconds: number;
}

export interface WatchHandlers {
  /**
   * Events in revision order, each delivered once. `revision`: everything up to it has been delivered (the last
   * event's revision, or the header of a progress notification, which has no events).
   */
  onEvents(events: readonly KvEvent[], revision: number): void;
  /** The server-side watch was created or re-created after a disconnect; `revision` is the server's current one. */
  onConnected(info: { readonly revision: number }): void;
  /** The stream broke; etcd3 re-creates it (with backoff) from the revision after the last one delivered. */
  onDisconnected(error: GoverseError): void;
  /**
   * The watch cannot go on: etcd cancelled it (for example its start revision was compacted), or a response was too
   * large to receive. It is dead: list again, watch anew.
   */
  onCancelled(error: GoverseError): void;
}

export interface WatchHandle {
  cancel(): Promise<void>;
}

export interface EtcdClient {
  readonly endpoints: readonly string[];
  /** Every key under `root` (pass `Keyspace.root`, with its slash, so sibling prefixes stay out), at one revision. */
  rangePrefix(root: string, options?: CallOptions): Promise<RangeResult>;
  get(key: string, options?: CallOptions): Promise<Kv | null>;
  put(key: string, value: string, options?: PutOptions): Promise<{ readonly revision: number }>;
  delete(key: string, options?: CallOptions): Promise<{ readonly revision: number; readonly deleted: number }>;
  /** Not retried on an ambiguous failure (the txn may have been applied); each list is limited to MAX_TXN_OPS. */
  txn(request: TxnRequest, options?: CallOptions): Promise<TxnResult>;
  grantLease(ttlSeconds: number, options?: CallOptions): Promise<LeaseGrant>;
  /** Renews the lease once. Throws LeaseNotFoundError when etcd says the lease is gone (expired or revoked). */
  keepAliveOnce(leaseId: string, options?: CallOptions): Promise<{ readonly ttlSeconds: number }>;
  /** Revokes the lease (deleting its keys); resolves false when it was already gone. */
  revokeLease(leaseId: string, options?: CallOptions): Promise<boolean>;
  /** A raw watch of every key under `root` from `fromRevision` (>= 1). */
  watchPrefix(root: string, fromRevision: number, handlers: WatchHandlers): WatchHandle;
  /** Compacts history up to `revision` (tests use it to provoke compaction recovery). */
  compact(revision: number, options?: CallOptions): Promise<void>;
  /** Cancels every watch and closes the connections; later calls fail with AbortedError. */
  close(): Promise<void>;
}

/** etcd says the lease does not exist (expired or revoked): keepalives on it can never succeed again. */
export class LeaseNotFoundError extends NotFoundError {
  constructor(
    readonly leaseId: string,
    options: { cause?: unknown } = {},
  ) {
    super(`etcd lease ${leaseId} not found (expired or revoked)`, options);
  }
}

/** Upstream's `goverse_shard_mapping_write_failures_total{error_type}` categories. */
export type EtcdFailureCategory = 'modrevision_conflict' | 'timeout' | 'connection_error' | 'other';

export function categorizeEtcdError(err: unknown): EtcdFailureCategory {
  if (err instanceof ConflictError) return 'modrevision_conflict';
  if (err instanceof TimeoutError || err instanceof AbortedError) return 'timeout';
  if (err instanceof UnavailableError) return 'connection_error';
  return 'other';
}

/** Maps anything etcd3, gRPC or cockatiel throws to a typed error; `what` names the operation in the message. */
export function mapEtcdError(raw: unknown, what: string, signal?: AbortSignal): GoverseError {
  if (raw instanceof GoverseError) return raw;
  // Stream errors reach us as plain gRPC errors; the others are already cast.
  const err = raw instanceof Error ? castGrpcError(raw) : raw;
  const detail = err instanceof Error ? err.message : String(err);
  const message = `${what}: ${detail}`;
  const options = { cause: err };
  if (signal?.aborted) return new AbortedError(`${what}: aborted`, options);
  if (isBrokenCircuitError(err)) {
    return new UnavailableError(`${what}: etcd unreachable (circuit open after repeated failures)`, options);
  }
  if (err instanceof GRPCDeadlineExceededError) return new TimeoutError(message, options);
  if (err instanceof ClientClosedError) return new AbortedError(`${what}: the etcd client is closed`, options);
  if (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCCancelledError ||
    err instanceof GRPCInternalError ||
    err instanceof GRPCUnknownError ||
    err instanceof GRPCAbortedError ||
    err instanceof GRPCResourceExhastedError ||
    err instanceof EtcdWatchStreamEnded
  ) {
    return new UnavailableError(message, options);
  }
  if (
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdPermissionDeniedError ||
    err instanceof EtcdInvalidAuthTokenError ||
    err instanceof GRPCUnauthenticatedError
  ) {
    return new ConfigError('etcd credentials', message, options);
  }
  if (err instanceof GRPCInvalidArgumentError) return new InvalidArgumentError(message, options);
  if (err instanceof GRPCOutOfRangeError || err instanceof GRPCFailedPreconditionError) {
    return new PreconditionError(message, options);
  }
  if (err instanceof GRPCNotFoundError) return new NotFoundError(message, options);
  return new InternalError(message, options);
}

/** gRPC never got a connection, so the request cannot have reached etcd: safe to send again to another member. */
function neverSent(err: Error): boolean {
  return err instanceof GRPCUnavailableError && /No connection established|ECONNREFUSED/.test(err.message);
}

function toKv(kv: IKeyValue): Kv {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
    lease: kv.lease,
  };
}

function prefixEnd(root: string): Buffer {
  const end = Buffer.from(root);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

const headerRevision = (h: IResponseHeader): number => Number(h.revision);

function txnOp(op: TxnOp): IRequestOp {
  return op.type === 'put'
    ? { request_put: { key: Buffer.from(op.key), value: Buffer.from(op.value), lease: op.lease ?? '0' } }
    : { request_delete_range: { key: Buffer.from(op.key) } };
}

/** Keys per range page at first: a page of ordinary keys is far below the receive limit. */
const RANGE_PAGE = 1000;

/**
 * gRPC's default receive limit is 4 MiB: one page of large values, or a watch response carrying them, would then fail
 * every read with RESOURCE_EXHAUSTED and leave no tool able to repair the cluster. etcd accepts requests of at most
 * 1.5 MiB by default, so one key always fits, and a range page that does not fit is split (see rangePrefix).
 */
export const DEFAULT_MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

/**
 * gRPC refused a message larger than the receive limit (a RESOURCE_EXHAUSTED raised here, unlike etcd's own, such as
 * its space quota): nothing wrong with the server, so no reason to open the circuit breaker either.
 */
function tooLarge(err: unknown): boolean {
  return (
    err instanceof Error && castGrpcError(err) instanceof GRPCResourceExhastedError && /Received message larger than max/.test(err.message)
  );
}

export function createEtcdClient(options: EtcdClientOptions): EtcdClient {
  return new Etcd3Client(options);
}

class Etcd3Client implements EtcdClient {
  readonly endpoints: readonly string[];
  private readonly etcd: Etcd3;
  private readonly log: Logger;
  private readonly dialTimeoutMs: number;
  private readonly callTimeoutMs: number;
  private readonly watches = new Set<Watcher>();
  /** False until a call succeeds and again after a transport failure: calls then wait at most dialTimeoutMs. */
  private connected = false;
  private closed = false;
  /** The last real transport error, quoted when an open circuit breaker would hide why etcd is unreachable. */
  private lastTransportError: string | null = null;

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) throw new ConfigError('etcd endpoints', 'at least one endpoint is required');
    this.endpoints = [...options.endpoints];
    this.log = options.logger ?? nullLogger;
    this.dialTimeoutMs = options.dialTimeoutMs ?? 5000;
    this.callTimeoutMs = options.callTimeoutMs ?? 5000;
    // Read and checked here, before any connection: a bad file is a ConfigError naming it.
    const tls = options.tls && loadTlsFiles(options.tls);
    const etcdOptions: IOptions = {
      // TLS comes from `tls` alone, so scheme prefixes are only decoration.
      hosts: this.endpoints.map((e) => e.replace(/^https?:\/\//, '')),
      credentials: tls && { rootCertificate: tls.ca, certChain: tls.cert, privateKey: tls.key },
      auth: options.auth && { username: options.auth.username, password: options.auth.password },
      grpcOptions: {
        // A dropped connection is retried quickly; keepalive notices silently dead peers (etcd allows >= 5 s).
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.max_receive_message_length': options.maxReceiveBytes ?? DEFAULT_MAX_RECEIVE_BYTES,
      },
      faultHandling: {
        // Three straight failures take a member out for 250 ms only: a restarted etcd is used again within ~1 s,
        // while a dead member of three is skipped instead of costing every call a failed attempt.
        host: () =>
          circuitBreaker(
            handleWhen((err) => isRecoverableError(err) && !tooLarge(err)),
            { halfOpenAfter: 250, breaker: new ConsecutiveBreaker(3) },
          ),
        // Fail over to another member only when the request cannot have been sent; anything else may have been
        // applied, and the caller (which knows whether the call is idempotent) decides.
        global: retry(handleWhen(neverSent), { maxAttempts: this.endpoints.length, backoff: new ConstantBackoff(0) }),
        // etcd3 calls `.next()` on this value, i.e. it wants the factory; its typing says an IBackoff instance.
        watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }) as unknown as IBackoff<unknown>,
      },
    };
    this.etcd = new Etcd3(etcdOptions);
  }

  async rangePrefix(root: string, options?: CallOptions): Promise<RangeResult> {
    return this.call(`etcd range ${root}`, options, true, async (grpcOptions) => {
      const end = prefixEnd(root);
      const kvs: Kv[] = [];
      let start = Buffer.from(root);
      let revision = 0;
      let limit = RANGE_PAGE;
      // Pages at the first page's revision form one consistent read.
      while (true) {
        let res;
        try {
          res = await this.etcd.kv.range(
            { key: start, range_end: end, limit, revision: revision === 0 ? undefined : revision },
            grpcOptions,
          );
        } catch (err) {
          // A page of large values beyond the receive limit: read it in smaller pages (one key always fits).
          if (tooLarge(err) && limit > 1) {
            limit = Math.max(1, Math.floor(limit / 2));
            this.log.debug('etcd range page too large to receive; halving it', { root, limit });
            continue;
          }
          // A compaction between pages removed the revision being read: start over at the current one.
          if (revision === 0 || !(err instanceof GRPCOutOfRangeError)) throw err;
          [start, revision, kvs.length] = [Buffer.from(root), 0, 0];
          continue;
        }
        if (revision === 0) revision = headerRevision(res.header);
        for (const kv of res.kvs) kvs.push(toKv(kv));
        const last = res.kvs[res.kvs.length - 1];
        if (!res.more || last === undefined) return { kvs, revision };
        start = Buffer.concat([last.key, Buffer.from([0])]);
      }
    });
  }

  async get(key: string, options?: CallOptions): Promise<Kv | null> {
    return this.call(`etcd get ${key}`, options, true, async (grpcOptions) => {
      const res = await this.etcd.kv.range({ key: Buffer.from(key) }, grpcOptions);
      const kv = res.kvs[0];
      return kv === undefined ? null : toKv(kv);
    });
  }

  async put(key: string, value: string, options?: PutOptions): Promise<{ revision: number }> {
    return this.call(`etcd put ${key}`, options, false, async (grpcOptions) => {
      const res = await this.etcd.kv.put(
        { key: Buffer.from(key), value: Buffer.from(value), lease: options?.lease ?? '0' },
        grpcOptions,
      );
      return { revision: headerRevision(res.header) };
    });
  }

  async delete(key: string, options?: CallOptions): Promise<{ revision: number; deleted: number }> {
    return this.call(`etcd delete ${key}`, options, false, async (grpcOptions) => {
      const res = await this.etcd.kv.deleteRange({ key: Buffer.from(key) }, grpcOptions);
      return { revision: headerRevision(res.header), deleted: Number(res.deleted) };
    });
  }

  async txn(request: TxnRequest, options?: CallOptions): Promise<TxnResult> {
    const reads = request.failureReads ?? [];
    for (const [name, n] of [
      ['compares', request.compares.length],
      ['success ops', request.success.length],
      ['failure reads', reads.length],
    ] as const) {
      if (n > MAX_TXN_OPS) throw new InvalidArgumentError(`etcd txn has ${n} ${name}; etcd allows at most ${MAX_TXN_OPS}`);
    }
    const what = `etcd txn (${request.compares.length} compares, ${request.success.length} ops)`;
    return this.call(what, options, false, async (grpcOptions) => {
      const res = await this.etcd.kv.txn(
        {
          compare: request.compares.map((c) => ({
            key: Buffer.from(c.key),
            target: 'Mod',
            result: 'Equal',
            mod_revision: c.modRevision,
          })),
          success: request.success.map(txnOp),
          failure: reads.map((key) => ({ request_range: { key: Buffer.from(key) } })),
        },
        grpcOptions,
      );
      const revision = headerRevision(res.header);
      if (res.succeeded) return { succeeded: true, revision };
      const found = new Map<string, Kv>();
      for (const r of res.responses) for (const kv of r.response_range?.kvs ?? []) found.set(kv.key.toString(), toKv(kv));
      return { succeeded: false, revision, reads: found };
    });
  }

  async grantLease(ttlSeconds: number, options?: CallOptions): Promise<LeaseGrant> {
    return this.call(`etcd lease grant (TTL ${ttlSeconds} s)`, options, false, async (grpcOptions) => {
      const res = await this.etcd.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 }, grpcOptions);
      if (res.error !== '') throw new UnavailableError(`etcd lease grant failed: ${res.error}`);
      return { id: res.ID, ttlSeconds: Number(res.TTL) };
    });
  }

  async keepAliveOnce(leaseId: string, options?: CallOptions): Promise<{ ttlSeconds: number }> {
    return this.call(`etcd keepalive of lease ${leaseId}`, options, true, async (grpcOptions) => {
      const stream = await this.etcd.leaseClient.leaseKeepAlive(grpcOptions);
      try {
        const ttl = await new Promise<number>((resolve, reject) => {
          stream.on('data', (res) => resolve(Number(res.TTL)));
          stream.on('error', reject);
          stream.on('end', () => reject(new UnavailableError('etcd closed the keepalive stream')));
          stream.write({ ID: leaseId });
        });
        // etcd answers a keepalive of an unknown lease with TTL 0 rather than an error.
        if (ttl <= 0) throw new LeaseNotFoundError(leaseId);
        return { ttlSeconds: ttl };
      } finally {
        // A half-close ends the stream cleanly; cancel() would count as a failure in etcd3's circuit breaker.
        stream.end();
      }
    });
  }

  async revokeLease(leaseId: string, options?: CallOptions): Promise<boolean> {
    return this.call(`etcd revoke of lease ${leaseId}`, options, true, async (grpcOptions) => {
      try {
        await this.etcd.leaseClient.leaseRevoke({ ID: leaseId }, grpcOptions);
        return true;
      } catch (err) {
        if (err instanceof EtcdLeaseInvalidError) return false;
        throw err;
      }
    });
  }

  async compact(revision: number, options?: CallOptions): Promise<void> {
    await this.call(`etcd compaction to revision ${revision}`, options, false, (grpcOptions) =>
      this.etcd.kv.compact({ revision, physical: true }, grpcOptions),
    );
  }

  watchPrefix(root: string, fromRevision: number, handlers: WatchHandlers): WatchHandle {
    if (this.closed) throw new AbortedError(`etcd watch of ${root}: the etcd client is closed`);
    if (!Number.isSafeInteger(fromRevision) || fromRevision < 1) {
      throw new InvalidArgumentError(`etcd watch of ${root}: start revision ${fromRevision} must be >= 1`);
    }
    const what = `etcd watch of ${root}`;
    /** Everything at or below this revision has been delivered. */
    let delivered = fromRevision - 1;
    let active = true;
    const guard = (handler: string, fn: () => void): void => {
      if (!active) return;
      try {
        fn();
      } catch (err) {
        // A throwing handler must not kill the stream (etcd3 would rethrow it out of the event loop).
        this.log.error('etcd watch handler threw', { handler, root, err });
      }
    };
    // `watcher()` attaches synchronously, so the error listener is in place before any response can arrive.
    const watcher = this.etcd.watch().prefix(root).startRevision(String(fromRevision)).watcher();
    this.watches.add(watcher);
    watcher.on('connected', (res) => guard('onConnected', () => handlers.onConnected({ revision: headerRevision(res.header) })));
    watcher.on('data', (res) => {
      const events: KvEvent[] = [];
      let revision = delivered;
      for (const ev of res.events) {
        const rev = Number(ev.kv.mod_revision);
        revision = Math.max(revision, rev);
        // A replay after a resume can repeat what was delivered: drop it.
        if (rev <= delivered) continue;
        events.push(
          ev.type === 'Put' ? { type: 'put', kv: toKv(ev.kv) } : { type: 'delete', key: ev.kv.key.toString(), modRevision: rev },
        );
      }
      // Only a progress notification (no events) vouches for its header revision: a catching-up batch carries the
      // server's current revision although more events follow.
      if (res.events.length === 0) revision = Math.max(revision, headerRevision(res.header));
      if (revision <= delivered) return;
      delivered = revision;
      guard('onEvents', () => handlers.onEvents(events, revision));
    });
    watcher.on('disconnected', (err) => {
      if (tooLarge(err)) {
        // A response beyond the receive limit would come back on every resume: give this watch up, so the caller
        // lists (in pages that fit) and watches anew after what it listed.
        guard('onCancelled', () => handlers.onCancelled(mapEtcdError(err, `${what}: a response was too large to receive`)));
        active = false;
        void this.cancelWatch(watcher);
        return;
      }
      // etcd3 would resume from the last response header + 1, which can skip events of a catching-up batch;
      // resume from what was actually delivered.
      watcher.request.start_revision = String(delivered + 1);
      guard('onDisconnected', () => handlers.onDisconnected(mapEtcdError(err, what)));
    });
    watcher.on('error', (err) => {
      this.watches.delete(watcher);
      guard('onCancelled', () => handlers.onCancelled(mapEtcdError(err, `${what} cancelled by etcd`)));
      active = false;
    });
    return {
      cancel: async () => {
        if (!active) return;
        active = false;
        await this.cancelWatch(watcher);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Detach every watcher first: etcd3 would otherwise keep reconnecting their stream after close().
    await Promise.all([...this.watches].map((w) => this.cancelWatch(w)));
    this.etcd.close();
  }

  private async cancelWatch(watcher: Watcher): Promise<void> {
    this.watches.delete(watcher);
    let timer: NodeJS.Timeout | undefined;
    // A connected watcher waits for etcd's cancel confirmation; do not hang on a dead server.
    await Promise.race([
      watcher.cancel().catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000))),
    ]);
    clearTimeout(timer);
  }

  /**
   * Runs one etcd call with a deadline, AbortSignal and typed errors. Idempotent calls are retried on transient
   * failures until the deadline (so a member going away mid-call does not surface); others are not, because the
   * request may have been applied.
   */
  private async call<T>(
    what: string,
    options: CallOptions | undefined,
    idempotent: boolean,
    fn: (grpcOptions: { deadline: number }) => Promise<T>,
  ): Promise<T> {
    const signal = options?.signal;
    if (this.closed) throw new AbortedError(`${what}: the etcd client is closed`);
    if (signal?.aborted) throw new AbortedError(`${what}: aborted`);
    const timeoutMs = options?.timeoutMs ?? this.callTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const dialBound = !this.connected && Date.now() + this.dialTimeoutMs < deadline;
      const callDeadline = dialBound ? Date.now() + this.dialTimeoutMs : deadline;
      try {
        const result = await abortable(fn({ deadline: callDeadline }), signal, what);
        this.connected = true;
        return result;
      } catch (raw) {
        let err = mapEtcdError(raw, what, signal);
        if (err instanceof UnavailableError || err instanceof TimeoutError) this.connected = false;
        if (isBrokenCircuitError(raw)) {
          if (this.lastTransportError !== null) {
            err = new UnavailableError(`${err.message}; last failure: ${this.lastTransportError}`, { cause: raw });
          }
        } else if (err instanceof UnavailableError) {
          this.lastTransportError = err.message;
        }
        if (dialBound && err instanceof TimeoutError) {
          err = new UnavailableError(
            `${what}: no connection to etcd at ${this.endpoints.join(',')} within ${this.dialTimeoutMs} ms`,
            { cause: raw },
          );
        }
        const delay = backoffDelay(attempt, 20, 250);
        if (!idempotent || !err.retriable || Date.now() + delay >= deadline) throw err;
        await sleep(delay, signal);
      }
    }
  }
}

/** Rejects with AbortedError as soon as `signal` aborts; the gRPC call itself runs on until its deadline. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError(`${what}: aborted`));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
