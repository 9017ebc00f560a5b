import { FencedError, GoverseError } from '../../core/errors.js';
import type { ObjectKey } from './objectStore.js';

/**
 * A store operation was refused because the object's row carries a newer ownership epoch than the caller's (or the
 * row is gone): a newer owner has activated, written or deleted the object. The write is not applied and must not be
 * acknowledged. Retriable: the client retries against the current owner.
 */
export class StaleEpochError extends FencedError {
  constructor(
    readonly key: ObjectKey,
    readonly epoch: number,
    /** The row's epoch when the write was refused; null when the row no longer exists. */
    readonly storedEpoch: number | null,
  ) {
    super(
      `${key.type}/${key.id}: epoch ${epoch} is stale (${
        storedEpoch === null ? 'the stored object was deleted' : `stored epoch is ${storedEpoch}`
      }); a newer owner has taken the object over`,
    );
  }
}

/**
 * The store failed (I/O, a full disk, lock contention, corrupt data). `storeCode` is the store's own error code
 * (`SQLITE_FULL`, `SQLITE_IOERR_WRITE`, a PostgreSQL SQLSTATE, ...), null when the failure is not the database's.
 * Retriable when trying again later can succeed (busy, full, I/O errors); nothing was written either way.
 */
export class PersistenceError extends GoverseError {
  readonly storeCode: string | null;

  constructor(message: string, options: { cause?: unknown; retriable?: boolean; storeCode?: string | null } = {}) {
    super('persistence', message, options);
    this.storeCode = options.storeCode ?? null;
  }
}
