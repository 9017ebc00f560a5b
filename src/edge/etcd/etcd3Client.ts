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
import { Etcd3, EtcdLeaseInvalidError, isRecoverableError, type IOptions } from 'etcd3';
import { AbortedError, ConfigError, InvalidArgumentError, TimeoutError, UnavailableError } from '../../core/errors.js';
import { type Logger, nullLogger } from '../../core/log/logger.js';
import type { Kv } from '../../core/snapshot/snapshot.js';
import { backoffDelay, sleep } from '../timing.js';
import type {
  CallOptions,
  EtcdClient,
  EtcdClientOptions,
  LeaseGrant,
  PutOptions,
  RangeOptions,
  RangeResult,
  TxnRequest,
  TxnResult,
  WatchHandle,
  WatchHandlers,
} from './client.js';
import { LeaseNotFoundError, mapEtcdError, neverSent, tooLarge } from './etcdErrors.js';
import { DEFAULT_MAX_RECEIVE_BYTES, MAX_TXN_OPS } from './limits.js';
import { PrefixWatches } from './prefixWatch.js';
import { rangePages } from './rangePages.js';
import { loadTlsFiles } from './tls.js';
import { headerRevision, toKv, txnOp } from './wire.js';

/** EtcdClient over etcd3: deadlines, fail-over, circuit breaking and typed errors around each call. */
export class Etcd3Client implements EtcdClient {
  readonly endpoints: readonly string[];
  private readonly etcd: Etcd3;
  private readonly log: Logger;
  private readonly dialTimeoutMs: number;
  private readonly callTimeoutMs: number;
  private readonly watches: PrefixWatches;
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
    this.watches = new PrefixWatches(this.etcd, this.log);
  }

  async rangePrefix(root: string, options?: RangeOptions): Promise<RangeResult> {
    return this.call(`etcd range ${root}`, options, true, (grpcOptions) => rangePages(this.etcd, root, options?.except, grpcOptions, this.log));
  }

  async keysBetween(start: string, end: string, limit: number, options?: CallOptions): Promise<{ keys: string[]; count: number }> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidArgumentError(`etcd keys from ${start}: limit ${limit} must be >= 1`);
    return this.call(`etcd keys from ${start}`, options, true, async (grpcOptions) => {
      const res = await this.etcd.kv.range({ key: Buffer.from(start), range_end: Buffer.from(end), limit, keys_only: true }, grpcOptions);
      // With a limit etcd still counts every key in the range.
      return { keys: res.kvs.map((kv) => kv.key.toString()), count: Number(res.count) };
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
    return this.watches.open(root, fromRevision, handlers);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.watches.cancelAll();
    this.etcd.close();
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
