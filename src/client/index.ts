/** The routing client library: `GoverseClient.watching(...)` or `GoverseClient.oneShot(...)`, then call/create/delete. */
export { type CallOptions, type EtcdRoutingOptions, GoverseClient, type GoverseClientOptions, type RetryEvent, type RoutingSource } from './client.js';
export { CallAbortedError, CallTimeoutError, type CallTrace, describeCall, NodeUnreachableError, NoRouteError, RemoteError } from './errors.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
export { type Route, routeObject } from './route.js';
