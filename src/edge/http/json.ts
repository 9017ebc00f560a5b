import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from '../../core/api/errorBody.js';
import { GoverseError, InvalidArgumentError, TimeoutError, UnauthenticatedError, UnavailableError } from '../../core/errors.js';
import { type BodyBudget, LARGE_BODY_BYTES } from './bodyBudget.js';

/** The request body is larger than the server accepts (HTTP 413). */
export class BodyTooLargeError extends InvalidArgumentError {
  constructor(readonly limitBytes: number) {
    super(`request body is larger than ${limitBytes} bytes`);
  }
}

/** The process holds as many request bodies as its budget allows (HTTP 503, retriable: bodies finish every moment). */
export class BodyBudgetExhaustedError extends UnavailableError {
  constructor(readonly budgetBytes: number) {
    super(`the server is buffering ${budgetBytes} bytes of request bodies, its limit; retry shortly`);
  }
}

/** The request did not arrive in time: headers, the whole request, or the next byte of its body (HTTP 408). */
export class RequestTimeoutError extends TimeoutError {}

/** Method not allowed on a known path (HTTP 405). */
export class MethodNotAllowedError extends InvalidArgumentError {
  constructor(
    readonly method: string,
    readonly allowed: readonly string[],
  ) {
    super(`method ${method} not allowed; use ${allowed.join(' or ')}`);
  }
}

/** What a request body may take: its own size limit (413 beyond) and its share of the process-wide budget. */
export interface BodyLimits {
  readonly maxBytes: number;
  readonly budget: BodyBudget;
}

/** A body that sends no byte for this long is abandoned (408): a stalled upload must not hold its budget. */
export const BODY_IDLE_TIMEOUT_MS = 10_000;

/**
 * Reads a JSON object body; typed errors for a too large body, a full body budget, a stalled body, bad JSON, or a
 * body that is not an object. The body is copied into one buffer of its declared length (grown by doubling when
 * the length is unknown), so a body trickled a byte at a time costs its size, not a Buffer object per byte; a body
 * that arrives in one chunk is used as it is. A refused body is never read further: the reply closes the connection
 * (`sendError`). Listens for events rather than iterating the stream: the async iterator costs a few microseconds
 * per request on the node's hot path.
 */
export function readJsonObject(req: IncomingMessage, limits: BodyLimits): Promise<Record<string, unknown>> {
  const { maxBytes, budget } = limits;
  const declared = declaredLength(req);
  if (declared !== null && declared > maxBytes) return Promise.reject(new BodyTooLargeError(maxBytes));
  const large = declared === null || declared > LARGE_BODY_BYTES;
  // Reserved bytes: the declared length up front, or the buffer's capacity as it grows.
  let held = declared ?? 0;
  if (!budget.take(held, large)) return Promise.reject(new BodyBudgetExhaustedError(budget.limitBytes));
  return new Promise((resolve, reject) => {
    let body: Buffer | null = null;
    let size = 0;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(idle);
      budget.give(held, large);
      return true;
    };
    const fail = (err: unknown): void => {
      if (settle()) reject(err);
    };
    const idle = setTimeout(() => fail(new RequestTimeoutError(`request body stalled: no data for ${BODY_IDLE_TIMEOUT_MS / 1000} s`)), BODY_IDLE_TIMEOUT_MS);
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      idle.refresh();
      const end = size + chunk.length;
      if (end > maxBytes) return fail(new BodyTooLargeError(maxBytes));
      if (body === null && end === declared) {
        body = chunk;
        size = end;
        return;
      }
      if (body === null || end > body.length) {
        const capacity = declared ?? Math.min(maxBytes, Math.max(end, 2 * (body?.length ?? 0), 16 * 1024));
        if (declared === null) {
          if (!budget.take(capacity - held, large)) return fail(new BodyBudgetExhaustedError(budget.limitBytes));
          held = capacity;
        }
        const grown = Buffer.allocUnsafe(capacity);
        body?.copy(grown, 0, 0, size);
        body = grown;
      }
      chunk.copy(body, size);
      size = end;
    });
    req.on('end', () => {
      if (settled) return;
      let parsed: Record<string, unknown>;
      try {
        parsed = parseJsonObject(body === null ? '' : body.toString('utf8', 0, size));
      } catch (err) {
        fail(err);
        return;
      }
      if (settle()) resolve(parsed);
    });
    req.on('error', fail);
    req.on('close', () => {
      if (!req.complete) fail(new InvalidArgumentError('request body cut short: the client closed the connection'));
    });
  });
}

/** The Content-Length of a request; null for a chunked body (Node's parser refuses a malformed length). */
function declaredLength(req: IncomingMessage): number | null {
  if (req.headers['transfer-encoding'] !== undefined) return null;
  const header = req.headers['content-length'];
  return header === undefined ? 0 : Number(header);
}

/** Whether part of the request body may still arrive: reading on to keep the connection alive would be unbounded. */
function bodyPending(req: IncomingMessage): boolean {
  return !req.complete && declaredLength(req) !== 0;
}

function parseJsonObject(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError('request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

export const JSON_TYPE = 'application/json; charset=utf-8';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON_TYPE, JSON.stringify(body), headers);
}

/**
 * Every reply goes out here. A reply to a request whose body is still arriving closes the connection without reading
 * the rest (`replyAndClose`); with `close` the connection closes after the reply in any case.
 */
export function sendText(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}, close = false): void {
  const head = { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)), ...headers };
  // Without a socket the reply waits behind earlier pipelined ones and must go through Node's queue.
  if (res.socket !== null && !res.headersSent && bodyPending(res.req)) {
    const set = Object.entries(res.getHeaders()).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)]);
    res.req.pause();
    replyAndClose(res.socket, status, { ...Object.fromEntries(set), ...head }, text);
    return;
  }
  res.writeHead(status, close ? { ...head, connection: 'close' } : head);
  res.end(text);
}

/** How long a connection closed with part of its request unread stays open: time for the client to read the reply. */
const LINGER_MS = 2000;

/**
 * Writes a whole reply straight to the socket and closes the connection without reading on: the socket stops
 * reading, sends the reply and its FIN, and is destroyed `LINGER_MS` later. Closing at once with unread bytes in the
 * receive buffer resets the connection, and a client still sending often loses the reply to the reset (Node's own
 * client does); reading on to close cleanly would let a client make the server read without bound (Node drains the
 * body of a kept-alive connection: 3.1 GB in 6 s on one connection once).
 */
export function replyAndClose(socket: Duplex, status: number, headers: Record<string, string>, text: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.pause();
  const head = Object.entries({ ...headers, connection: 'close' })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head}\r\n${text}`);
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once('close', () => clearTimeout(linger));
}

/** HTTP status for a typed error: 4xx for bad requests, 503 (with Retry-After) for retriable refusals. */
export function httpStatusFor(err: unknown): number {
  if (err instanceof BodyTooLargeError) return 413;
  if (err instanceof MethodNotAllowedError) return 405;
  if (err instanceof RequestTimeoutError) return 408;
  if (!(err instanceof GoverseError)) return 500;
  switch (err.code) {
    case 'invalid_argument':
    case 'invalid_object_id':
    case 'bad_request':
    case 'state_too_large':
    case 'config':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'precondition':
      return 412;
    case 'timeout':
      return 504;
    case 'aborted':
    case 'unavailable':
    case 'fenced':
    case 'not_owner':
    case 'lock_timeout':
      return 503;
    default:
      return err.retriable ? 503 : 500;
  }
}

/**
 * The JSON error reply. A refused body (too large, over the budget, stalled) and a failed authentication also close
 * the connection, whatever part of the body has arrived: the client gets no kept-alive connection to go on with.
 */
export function sendError(res: ServerResponse, err: unknown): void {
  const status = httpStatusFor(err);
  const headers: Record<string, string> = {};
  if (status === 503) headers['retry-after'] = '1';
  if (err instanceof UnauthenticatedError) headers['www-authenticate'] = err.challenge;
  const close =
    err instanceof UnauthenticatedError || err instanceof BodyTooLargeError || err instanceof BodyBudgetExhaustedError || err instanceof RequestTimeoutError;
  sendText(res, status, JSON_TYPE, JSON.stringify(errorBody(err)), headers, close);
}
