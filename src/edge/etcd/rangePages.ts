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
 * Every key under `root` but those under `except` (a sub-prefix), read in pages all at the first page's revision (one
 * consistent read). A page too large to receive is read again in halves (one key always fits); a compaction between
 * pages starts the read over.
 */
export async function rangePages(
  etcd: Etcd3,
  root: string,
  except: string | undefined,
  grpcOptions: { deadline: number },
  log: Logger,
): Promise<RangeResult> {
  const spans: [Buffer, Buffer][] =
    except === undefined || !except.startsWith(root)
      ? [[Buffer.from(root), prefixEnd(root)]]
      : [
          [Buffer.from(root), Buffer.from(except)],
          [prefixEnd(except), prefixEnd(root)],
        ];
  while (true) {
    const read: SpanRead = { kvs: [], revision: 0 };
    try {
      for (const [start, end] of spans) await rangeSpan(etcd, start, end, read, grpcOptions, log);
      return read;
    } catch (err) {
      // A compaction between pages removed the revision being read: start over at the current one.
      if (read.revision === 0 || !(err instanceof GRPCOutOfRangeError)) throw err;
    }
  }
}

/** What a read has gathered so far, at which revision (0 until its first page fixes it). */
interface SpanRead {
  readonly kvs: Kv[];
  revision: number;
}

/** Appends the keys in [from, end) at the read's revision (the first page fixes it) to the read, page by page. */
async function rangeSpan(etcd: Etcd3, from: Buffer, end: Buffer, read: SpanRead, grpcOptions: { deadline: number }, log: Logger): Promise<void> {
  let start = from;
  let limit = RANGE_PAGE;
  while (true) {
    let res;
    try {
      res = await etcd.kv.range({ key: start, range_end: end, limit, revision: read.revision === 0 ? undefined : read.revision }, grpcOptions);
    } catch (err) {
      if (!tooLarge(err) || limit === 1) throw err;
      limit = Math.max(1, Math.floor(limit / 2));
      log.debug('etcd range page too large to receive; halving it', { from: from.toString(), limit });
      continue;
    }
    if (read.revision === 0) read.revision = headerRevision(res.header);
    for (const kv of res.kvs) read.kvs.push(toKv(kv));
    const last = res.kvs[res.kvs.length - 1];
    if (!res.more || last === undefined) return;
    start = Buffer.concat([last.key, Buffer.from([0])]);
  }
}
