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

/** The store failed (I/O, lock contention, corrupt data). Retriable when the database was only busy. */
export class PersistenceError extends GoverseError {
  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super('persistence', message, options);
  }
}
