import { isDialAddress } from '../config/addresses.js';
import { nodeAddressProblem } from './shardValue.js';

/** Longest node address accepted in a key: DNS names stop at 253 characters, plus room for `:port`. */
export const MAX_ADDRESS_LENGTH = 255;

/**
 * Why `address` (taken from a `nodes/`, `gates/`, `nodeinfo/`, `load/` or `drain/` key) cannot be a cluster member,
 * or null when it can: at most MAX_ADDRESS_LENGTH characters of printable ASCII, `host:port` with a port in
 * 1..65535, and representable in a shard value. Anyone who can write etcd can write such a key; an address that
 * fails here never receives shards and is never copied into a record.
 */
export function memberAddressProblem(address: string): string | null {
  if (address.length > MAX_ADDRESS_LENGTH) return `address is ${address.length} characters long; at most ${MAX_ADDRESS_LENGTH} are allowed`;
  if (!/^[\x21-\x7e]+$/.test(address)) return 'address must be printable ASCII without spaces';
  if (!isDialAddress(address)) return 'address must be host:port with a port in 1..65535';
  const unrepresentable = nodeAddressProblem(address);
  return unrepresentable === null ? null : `address ${unrepresentable}`;
}
