/** etcd rejects a txn whose compares, success ops or failure ops (each counted separately) exceed this. */
export const MAX_TXN_OPS = 128;

/**
 * gRPC's default receive limit is 4 MiB: one page of large values, or a watch response carrying them, would then fail
 * every read with RESOURCE_EXHAUSTED and leave no tool able to repair the cluster. etcd accepts requests of at most
 * 1.5 MiB by default, so one key always fits, and a range page that does not fit is split (see rangePages).
 */
export const DEFAULT_MAX_RECEIVE_BYTES = 64 * 1024 * 1024;
