import { isDialAddress, splitHostPort } from './addresses.js';
import type { Parsed, ValueType } from './valueTypes.js';

/**
 * A node as an upstream YAML file lists it, for goverse-top: its address in etcd and where it serves `/metrics` and
 * `/ready`. Upstream's entries are `{id, grpc_addr, advertise_addr, http_addr}`; the node registers as
 * `advertise_addr` (falling back to `grpc_addr`), and `http_addr` is the listen address of its HTTP server, so its
 * host may be empty or a wildcard (`:8080`, `0.0.0.0:8080`).
 */
export interface ConfigNode {
  /** The node's address in etcd (`<prefix>/nodes/<address>`). */
  readonly address: string;
  /** Its `http_addr`, as written. */
  readonly httpAddr: string;
}

/** More entries than any cluster has: a bound on what one file makes goverse-top scrape. */
export const MAX_CONFIG_NODES = 10_000;

function problem(at: string, value: unknown, expected: string): Parsed<never> {
  return { ok: false, at: { path: at, value }, expected };
}

/** An optional string field: absent (or null) is undefined; anything but a string is refused. */
function optionalText(entry: Record<string, unknown>, key: string, i: number): Parsed<string | undefined> {
  const v = entry[key];
  if (v === undefined || v === null) return { ok: true, value: undefined };
  return typeof v === 'string' ? { ok: true, value: v.trim() } : problem(`[${i}].${key}`, v, 'a host:port string');
}

/**
 * YAML only (`nodes`): the entries that name a node and an HTTP port. Entries without either are skipped, since a
 * file shared with goverse-node may list nodes that advertise no address (they derive it from their listen address)
 * or serve no HTTP; a value of the wrong type or form is refused, naming the entry.
 */
export const configNodes: ValueType<readonly ConfigNode[]> = {
  kind: 'objects',
  expected: 'a list of {id, grpc_addr, advertise_addr, http_addr} entries',
  parse(raw) {
    if (raw === null) return { ok: true, value: [] };
    if (!Array.isArray(raw)) return { ok: false };
    if (raw.length > MAX_CONFIG_NODES) return problem('', `${raw.length} entries`, `at most ${MAX_CONFIG_NODES} entries`);
    const out: ConfigNode[] = [];
    for (const [i, entry] of raw.entries()) {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return problem(`[${i}]`, entry, 'a mapping with advertise_addr and http_addr');
      const fields = entry as Record<string, unknown>;
      const advertise = optionalText(fields, 'advertise_addr', i);
      if (!advertise.ok) return advertise;
      const grpc = optionalText(fields, 'grpc_addr', i);
      if (!grpc.ok) return grpc;
      const http = optionalText(fields, 'http_addr', i);
      if (!http.ok) return http;
      if (advertise.value !== undefined && advertise.value !== '' && !isDialAddress(advertise.value)) {
        return problem(`[${i}].advertise_addr`, advertise.value, 'a host:port other processes can dial');
      }
      if (http.value !== undefined && http.value !== '' && splitHostPort(http.value) === undefined) {
        return problem(`[${i}].http_addr`, http.value, 'empty or a listen address host:port such as :8080');
      }
      const address = advertise.value || (grpc.value !== undefined && isDialAddress(grpc.value) ? grpc.value : '');
      const port = http.value === undefined ? 0 : (splitHostPort(http.value)?.port ?? 0);
      if (address !== '' && port > 0) out.push({ address, httpAddr: http.value! });
    }
    return { ok: true, value: out };
  },
  format: (nodes) => (nodes.length === 0 ? 'none' : nodes.map((n) => `${n.address} (http ${n.httpAddr})`).join(', ')),
};
