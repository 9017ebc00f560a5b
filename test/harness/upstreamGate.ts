/**
 * A client of the upstream gate's REST API (POST only, JSON bodies) for upstream's Counter sample:
 * - `POST /api/v1/objects/create/{Type}/{Id}` → 200 `{"id": Id}` (also for an existing object);
 * - `POST /api/v1/objects/call/{Type}/{Id}/{Method}` with `{"request": base64(Any)}` → 200 `{"response": base64(Any)}`;
 *   calling an object that does not exist yet creates it;
 * - `POST /api/v1/objects/delete/{Type}/{Id}` → `{"success": true}`;
 * - errors: `{"error": "...", "code": "CREATE_FAILED" | "CALL_FAILED" | "OBJECT_NOT_FOUND" | "INVALID_..."}`.
 * Counter (proto package `counter`): Increment/Decrement take `{int32 amount = 1}`, Get and Reset take `{}`, and each
 * returns `CounterResponse {string name = 1 (the object id); int32 value = 2}`. The node resolves the request Any by
 * the part of its type URL after the last `/`. Keep-alive connections, as a load generator needs.
 */
import { Agent, request } from 'node:http';
import { anyTypeName, decodeAny, decodeFields, encodeAny, int32Field, readInt32, readString } from './protobuf.js';

const MAX_RESPONSE_BYTES = 1 << 20;
export const COUNTER_TYPE = 'Counter';

/** The gate answered with an error status, or with something that is not its JSON contract. */
export class GateApiError extends Error {
  constructor(
    readonly path: string,
    readonly status: number,
    /** The gate's `code` (CREATE_FAILED, CALL_FAILED, ...), or null when the body had none. */
    readonly code: string | null,
    message: string,
  ) {
    super(`gate ${path}: HTTP ${status}${code === null ? '' : ` ${code}`}: ${message}`);
  }
}

export interface CounterValue {
  /** The object id, as the Counter reports it. */
  readonly name: string;
  readonly value: number;
}

export const counterRequests = {
  increment: (amount: number) => encodeAny({ typeUrl: '/counter.IncrementRequest', value: int32Field(1, amount) }),
  decrement: (amount: number) => encodeAny({ typeUrl: '/counter.DecrementRequest', value: int32Field(1, amount) }),
  get: () => encodeAny({ typeUrl: '/counter.GetRequest', value: new Uint8Array(0) }),
  reset: () => encodeAny({ typeUrl: '/counter.ResetRequest', value: new Uint8Array(0) }),
};

export function decodeCounterResponse(anyBytes: Uint8Array): CounterValue {
  const any = decodeAny(anyBytes);
  if (anyTypeName(any) !== 'counter.CounterResponse') throw new Error(`expected a counter.CounterResponse, got type URL ${JSON.stringify(any.typeUrl)}`);
  const fields = decodeFields(any.value);
  return { name: readString(fields, 1), value: readInt32(fields, 2) };
}

export class UpstreamGateClient {
  private readonly agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
  private readonly host: string;
  private readonly port: number;

  /** `address`: the gate's HTTP API (`-http-listen`), host:port. */
  constructor(
    readonly address: string,
    private readonly timeoutMs = 30_000,
  ) {
    const at = address.lastIndexOf(':');
    this.host = address.slice(0, at);
    this.port = Number(address.slice(at + 1));
    if (at < 1 || !Number.isInteger(this.port)) throw new Error(`gate address must be host:port, got ${JSON.stringify(address)}`);
  }

  async create(type: string, id: string): Promise<void> {
    const body = await this.post(`/api/v1/objects/create/${encodeURIComponent(type)}/${encodeURIComponent(id)}`, {});
    if (body.id !== id) throw new GateApiError('create', 200, null, `answered ${JSON.stringify(body)}, expected id ${id}`);
  }

  /** Calls a method with a serialized Any; returns the serialized Any of the response. */
  async call(type: string, id: string, method: string, requestAny: Uint8Array): Promise<Uint8Array> {
    const path = `/api/v1/objects/call/${encodeURIComponent(type)}/${encodeURIComponent(id)}/${encodeURIComponent(method)}`;
    const body = await this.post(path, { request: Buffer.from(requestAny).toString('base64') });
    if (typeof body.response !== 'string') throw new GateApiError(path, 200, null, `no response field in ${JSON.stringify(body).slice(0, 200)}`);
    return new Uint8Array(Buffer.from(body.response, 'base64'));
  }

  async delete(type: string, id: string): Promise<void> {
    await this.post(`/api/v1/objects/delete/${encodeURIComponent(type)}/${encodeURIComponent(id)}`, {});
  }

  increment(id: string, amount = 1): Promise<CounterValue> {
    return this.counter(id, 'Increment', counterRequests.increment(amount));
  }

  get(id: string): Promise<CounterValue> {
    return this.counter(id, 'Get', counterRequests.get());
  }

  close(): void {
    this.agent.destroy();
  }

  private async counter(id: string, method: string, requestAny: Uint8Array): Promise<CounterValue> {
    return decodeCounterResponse(await this.call(COUNTER_TYPE, id, method, requestAny));
  }

  private post(path: string, json: unknown): Promise<Record<string, unknown>> {
    const payload = JSON.stringify(json);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.host,
          port: this.port,
          method: 'POST',
          path,
          timeout: this.timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) res.destroy(new GateApiError(path, res.statusCode ?? 0, null, `response over ${MAX_RESPONSE_BYTES} bytes`));
            else chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              return reject(new GateApiError(path, res.statusCode ?? 0, null, `not JSON: ${text.slice(0, 200)}`));
            }
            if (typeof body !== 'object' || body === null || Array.isArray(body)) {
              return reject(new GateApiError(path, res.statusCode ?? 0, null, `not a JSON object: ${text.slice(0, 200)}`));
            }
            const doc = body as Record<string, unknown>;
            if (res.statusCode !== 200) {
              return reject(new GateApiError(path, res.statusCode ?? 0, typeof doc.code === 'string' ? doc.code : null, String(doc.error ?? text.slice(0, 200))));
            }
            resolve(doc);
          });
        },
      );
      req.on('timeout', () => req.destroy(new GateApiError(path, 0, null, `no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}
