import { type Etcd3, GRPCOutOfRangeError } from 'etcd3';
import type { Logger } from '../../core/log/logger.js';
import type { Kv } from '../../core/snapshot/snapshot.js';
import type { RangeResult } from './client.js';
import { tooLarge } from './etcdErrors.js';
import { headerRevision, toKv } from './wire.js';

/** Keys per range page at first: a page of ordinary keys is far below the receive limit. */
const RANGE_PAGE = 1000;

/** The first key after every key that starts with `root`. */
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

/**
 * Every key under `root`, read in pages all at the first page's revision (one consistent read). A page too large to
 * receive is read again in halves (one key always fits); a compaction between pages starts the read over.
 */
export async function rangePages(etcd: Etcd3, root: string, grpcOptions: { deadline: number }, log: Logger): Promise<RangeResult> {
  const end = prefixEnd(root);
  const kvs: Kv[] = [];
  let start = Buffer.from(root);
  let revision = 0;
  let limit = RANGE_PAGE;
  while (true) {
    let res;
    try {
      res = await etcd.kv.range({ key: start, range_end: end, limit, revision: revision === 0 ? undefined : revision }, grpcOptions);
    } catch (err) {
      if (tooLarge(err) && limit > 1) {
        limit = Math.max(1, Math.floor(limit / 2));
        log.debug('etcd range page too large to receive; halving it', { root, limit });
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
}
