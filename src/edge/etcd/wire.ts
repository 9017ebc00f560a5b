/** etcd3's wire values as ours: numbers for revisions, strings for keys and values. */
import type { IKeyValue, IRequestOp, IResponseHeader } from 'etcd3';
import type { Kv } from '../../core/snapshot/snapshot.js';
import type { TxnOp } from './client.js';

export function toKv(kv: IKeyValue): Kv {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
    lease: kv.lease,
  };
}

export const headerRevision = (h: IResponseHeader): number => Number(h.revision);

export function txnOp(op: TxnOp): IRequestOp {
  switch (op.type) {
    case 'put':
      return { request_put: { key: Buffer.from(op.key), value: Buffer.from(op.value), lease: op.lease ?? '0' } };
    case 'delete':
      return { request_delete_range: { key: Buffer.from(op.key) } };
    case 'delete-range':
      return { request_delete_range: { key: Buffer.from(op.key), range_end: Buffer.from(op.end) } };
  }
}
