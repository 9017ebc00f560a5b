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
  return op.type === 'put'
    ? { request_put: { key: Buffer.from(op.key), value: Buffer.from(op.value), lease: op.lease ?? '0' } }
    : { request_delete_range: { key: Buffer.from(op.key) } };
}
