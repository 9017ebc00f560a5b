/**
 * Our etcd interface. Everything in the project talks to etcd through `EtcdClient`; etcd3 (and its gRPC and
 * cockatiel machinery) stays behind `createEtcdClient` (etcd3Client.ts). Revisions are numbers, lease IDs decimal
 * strings, and every failure is a typed GoverseError whose `retriable` bit callers can trust (etcdErrors.ts).
 */
import type { GoverseError } from '../../core/errors.js';
import type { Logger } from '../../core/log/logger.js';
import type { Kv, KvEvent } from '../../core/snapshot/snapshot.js';
import { Etcd3Client } from './etcd3Client.js';
import type { EtcdTlsOptions } from './tls.js';

export { categorizeEtcdError, type EtcdFailureCategory, isLeaseNotFound, LeaseNotFoundError, mapEtcdError } from './etcdErrors.js';
export { DEFAULT_MAX_RECEIVE_BYTES, MAX_TXN_OPS } from './limits.js';

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

export interface RangeOptions extends CallOptions {
  /** Leave out the keys under this sub-prefix of the range's root (the snapshot leaves out the history). */
  readonly except?: string;
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
  | { readonly type: 'delete'; readonly key: string }
  /** Every key in [key, end): etcd refuses a transaction that also puts a key in that range. */
  | { readonly type: 'delete-range'; readonly key: string; readonly end: string };

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
  rangePrefix(root: string, options?: RangeOptions): Promise<RangeResult>;
  /** The first `limit` keys in [start, end) in key order (no values), and how many keys the range holds in all. */
  keysBetween(start: string, end: string, limit: number, options?: CallOptions): Promise<{ readonly keys: readonly string[]; readonly count: number }>;
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

export function createEtcdClient(options: EtcdClientOptions): EtcdClient {
  return new Etcd3Client(options);
}
