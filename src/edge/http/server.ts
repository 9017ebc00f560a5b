import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorBody } from '../../core/api/errorBody.js';
import { BadRequestError, InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import type { Logger } from '../../core/log/logger.js';
import { JSON_TYPE, MethodNotAllowedError, replyAndClose, RequestTimeoutError, sendError } from './json.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

/** A route table: exact paths, each with handlers by method. Errors become JSON error responses, never crashes. */
export class Router {
  private readonly routes = new Map<string, Map<string, Handler>>();

  on(method: string, path: string, handler: Handler): this {
    let byMethod = this.routes.get(path);
    if (byMethod === undefined) this.routes.set(path, (byMethod = new Map()));
    byMethod.set(method, handler);
    return this;
  }

  handle = async (req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const byMethod = this.routes.get(url.pathname);
      if (byMethod === undefined) throw new NotFoundError(`no such endpoint: ${url.pathname}`);
      const handler = byMethod.get(req.method ?? 'GET');
      if (handler === undefined) {
        res.setHeader('allow', [...byMethod.keys()].join(', '));
        throw new MethodNotAllowedError(req.method ?? '?', [...byMethod.keys()]);
      }
      await handler(req, res, url);
    } catch (err) {
      if (res.headersSent) {
        log.warn('error after the response started', { err });
        res.destroy();
        return;
      }
      sendError(res, err);
    }
  };
}

/** `host:port`, `:port` or `port` → listen options (empty host = all interfaces). */
export function parseListen(address: string): { host: string | undefined; port: number } {
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(address.trim());
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || port > 65535) throw new InvalidArgumentError(`bad listen address ${JSON.stringify(address)}; expected host:port or :port`);
  const host = m[1] === undefined || m[1] === '' ? undefined : m[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

export interface ServerLimits {
  /** Connections open at once; the next is closed as soon as it is accepted. */
  readonly maxConnections: number;
}

/**
 * Fixed timeouts (Node's defaults are 60 s for headers and 300 s for a request). Our clients send a request in one
 * write, and the largest body is 1 MiB: a client that needs 10 s for its headers or 30 s for a whole request (35 KB/s)
 * is stalled or hostile, and each such connection holds one of the capped slots. They end at request receipt: a call
 * may run long after. Node checks them every `TIMEOUT_CHECK_MS`.
 */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const TIMEOUT_CHECK_MS = 1000;
/** An idle kept-alive connection is closed after this. */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;
/** At most one warning per interval while the connection cap drops connections. */
const DROP_LOG_INTERVAL_MS = 10_000;

/** Starts an HTTP server for a router on `listen`; resolves once it accepts connections. */
export async function startServer(listen: string, router: Router, log: Logger, limits: ServerLimits): Promise<RunningServer> {
  const { host, port } = parseListen(listen);
  // The reply in progress on each connection, so that a parser-level rejection never writes into a started reply.
  const replies = new WeakMap<Socket, ServerResponse>();
  const server = createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: TIMEOUT_CHECK_MS },
    (req, res) => {
      replies.set(req.socket, res);
      void router.handle(req, res, log);
    },
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.maxConnections = limits.maxConnections;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, replies.get(socket as Socket)));
  let dropped = 0;
  let loggedAt = -Infinity;
  server.on('drop', () => {
    dropped++;
    const now = performance.now();
    if (now - loggedAt < DROP_LOG_INTERVAL_MS) return;
    log.warn('connection cap reached: closing new connections', { listen, maxConnections: limits.maxConnections, dropped });
    loggedAt = now;
    dropped = 0;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    server,
    port: addr.port,
    host: addr.address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/**
 * What Node's parser refuses (a malformed request line or header, headers over 16 KiB, a request that did not arrive
 * in time) gets the documented JSON error instead of Node's bodiless reply, then the connection closes. A reply
 * already under way cannot be followed by another: that connection is just closed. The parser reports every later
 * chunk of a refused connection again; the first report answers, the others find the socket ended.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, reply: ServerResponse | undefined): void {
  if (socket.writableEnded) return;
  if (err.code === 'ECONNRESET' || (reply?.headersSent === true && !reply.writableEnded)) {
    socket.destroy();
    return;
  }
  const { status, error } = clientErrorFor(err);
  const text = JSON.stringify(errorBody(error));
  replyAndClose(socket, status, { 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(text)) }, text);
}

function clientErrorFor(err: NodeJS.ErrnoException): { status: number; error: Error } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    const message = `request not received in time: headers within ${HEADERS_TIMEOUT_MS / 1000} s, the whole request within ${REQUEST_TIMEOUT_MS / 1000} s`;
    return { status: 408, error: new RequestTimeoutError(message) };
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') return { status: 431, error: new BadRequestError('request headers are larger than 16 KiB') };
  const reason = (err as { reason?: unknown }).reason;
  const detail = `${err.code ?? 'parse error'}${typeof reason === 'string' ? `: ${reason}` : ''}`;
  return { status: 400, error: new BadRequestError(`malformed HTTP request (${detail})`) };
}
