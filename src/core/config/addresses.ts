/** `host:port` addresses as written in flags and upstream YAML (`:48000`, `10.0.0.5:48000`, `[::1]:48000`). */
export interface HostPort {
  /** Empty for "all interfaces" (`:48000`). IPv6 hosts keep their brackets. */
  readonly host: string;
  readonly port: number;
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/]*):(\d{1,5})$/;

export function splitHostPort(address: string): HostPort | undefined {
  const m = HOST_PORT.exec(address);
  if (m === null) return undefined;
  const port = Number(m[2]);
  return port <= 65535 ? { host: m[1]!, port } : undefined;
}

/** A listen address: the host may be empty and port 0 asks the OS for a free port. */
export function isListenAddress(address: string): boolean {
  return splitHostPort(address) !== undefined;
}

/** An address other processes dial: a host and a real port. */
export function isDialAddress(address: string): boolean {
  const hp = splitHostPort(address);
  return hp !== undefined && hp.host !== '' && hp.port > 0;
}

/** etcd endpoints may carry a scheme (`http://127.0.0.1:2379`); TLS itself comes from the TLS settings. */
export function isEtcdEndpoint(endpoint: string): boolean {
  return isDialAddress(endpoint.replace(/^https?:\/\//, ''));
}

const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '[::]']);

/** A listen host meaning "all interfaces". */
export function isWildcardHost(host: string): boolean {
  return WILDCARD_HOSTS.has(host);
}

/** The address peers should dial for a listen address: wildcard hosts become `localhost`, as upstream's default. */
export function advertiseFor(listen: string): string {
  const hp = splitHostPort(listen);
  if (hp === undefined) return listen;
  return `${isWildcardHost(hp.host) ? 'localhost' : hp.host}:${hp.port}`;
}

/**
 * Whether a host (as `splitHostPort` gives it) names this machine's loopback interface only: `localhost` (and
 * `*.localhost`), 127.0.0.0/8 or ::1. Names are not resolved: any other name counts as reachable from elsewhere.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h.endsWith('.localhost') || /^127(?:\.\d{1,3}){3}$/.test(h) || /^(?:0{0,4}:){2,7}0{0,3}1$/.test(h);
}
