import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import type { Logger } from '../../core/log/logger.js';
import { MethodNotAllowedError, sendError } from './json.js';

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

/** Starts an HTTP server for a router on `listen`; resolves once it accepts connections. */
export async function startServer(listen: string, router: Router, log: Logger): Promise<RunningServer> {
  const { host, port } = parseListen(listen);
  const server = createServer((req, res) => void router.handle(req, res, log));
  server.keepAliveTimeout = 30_000;
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
