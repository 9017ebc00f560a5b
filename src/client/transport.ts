import { Agent, request } from 'node:http';
import { InvalidArgumentError } from '../core/errors.js';

/** How one HTTP attempt ended. Never throws: the client decides what each outcome means. */
export type AttemptOutcome =
  | { readonly kind: 'reply'; readonly status: number; readonly text: string }
  | { readonly kind: 'socket-error'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' };

interface Target {
  readonly host: string;
  readonly port: number;
}

/** Parsed API URLs are cached; a cluster has few nodes, but restarts on new ports add entries, so the cache is capped. */
const MAX_CACHED_TARGETS = 1024;

/** JSON POSTs to the nodes' object API over keep-alive connections (one pool per node, reused across calls). */
export class HttpTransport {
  private readonly agent: Agent;
  private readonly targets = new Map<string, Target>();

  constructor(options: { readonly maxSocketsPerNode?: number } = {}) {
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSocketsPerNode ?? Infinity, scheduling: 'lifo' });
  }

  post(apiUrl: string, path: string, body: string, timeoutMs: number, signal?: AbortSignal): Promise<AttemptOutcome> {
    const { host, port } = this.target(apiUrl);
    return new Promise((resolve) => {
      let done = false;
      const finish = (outcome: AttemptOutcome): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const req = request(
        {
          agent: this.agent,
          host,
          port,
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => finish({ kind: 'reply', status: res.statusCode ?? 0, text }));
          res.on('error', (error) => finish({ kind: 'socket-error', error }));
          res.on('close', () => {
            if (!res.complete) finish({ kind: 'socket-error', error: Object.assign(new Error('connection closed mid-reply'), { code: 'ECONNRESET' }) });
          });
        },
      );
      req.on('error', (error) => finish({ kind: 'socket-error', error }));
      // Whole milliseconds: Node keeps one timer list per distinct duration, and fractional ones would make a list
      // (and a priority-queue insertion) per request.
      const timer = setTimeout(() => {
        finish({ kind: 'timeout' });
        req.destroy();
      }, Math.max(1, Math.ceil(timeoutMs)));
      const onAbort = (): void => {
        finish({ kind: 'aborted' });
        req.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(body);
    });
  }

  /** Closes every connection; call it after the last request (requests still in flight fail). */
  close(): void {
    this.agent.destroy();
  }

  private target(apiUrl: string): Target {
    let t = this.targets.get(apiUrl);
    if (t !== undefined) return t;
    let url: URL;
    try {
      url = new URL(apiUrl);
    } catch (err) {
      throw new InvalidArgumentError(`node API URL ${JSON.stringify(apiUrl)} is not a URL`, { cause: err });
    }
    if (url.protocol !== 'http:') throw new InvalidArgumentError(`node API URL ${JSON.stringify(apiUrl)}: only http:// is supported`);
    t = { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? 80 : Number(url.port) };
    if (this.targets.size >= MAX_CACHED_TARGETS) this.targets.clear();
    this.targets.set(apiUrl, t);
    return t;
  }
}
