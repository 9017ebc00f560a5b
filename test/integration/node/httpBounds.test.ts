/**
 * Issue 13, bounded HTTP, on real goverse-node processes over raw sockets: trickled 1 MiB bodies cannot grow a
 * node's memory past its body budget and the node keeps answering; an over-limit body is not read on (the
 * connection closes); the connection cap closes the connection past it; the parser's own rejections answer a JSON
 * error; a stalled body is abandoned; the admin API's 401 names its scheme and closes the connection.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../harness/etcd.js';
import { NODE_BIN, NodeCluster, type TestNode } from '../../harness/nodes.js';
import { spawnManaged } from '../../harness/processes.js';
import { waitFor } from '../../harness/waitFor.js';
import { SLOW_MACHINE_ENV } from './acceptance.js';

const ADMIN_TOKEN = 'bounds-admin-token-0123456789';
const MiB = 1024 * 1024;
/** The second node's connection cap. */
const SMALL_CAP = 20;

let cluster: NodeCluster;
/** Default limits, with the admin API. */
let node: TestNode;
/** A small connection cap. */
let capped: TestNode;
let adminPort: number;

beforeAll(async () => {
  cluster = await NodeCluster.start({ nodes: 0, numShards: 16, label: 'http-bounds' });
  node = (await cluster.addNodes(1, { ...SLOW_MACHINE_ENV, GOVERSE_ADMIN_TOKEN: ADMIN_TOKEN, GOVERSE_ADMIN_LISTEN: '127.0.0.1:0' }))[0]!;
  capped = (await cluster.addNodes(1, { ...SLOW_MACHINE_ENV, GOVERSE_MAX_CONNECTIONS: String(SMALL_CAP) }))[0]!;
  const listening = await waitFor('the admin API listening', () => logLines(node).find((l) => l.msg === 'admin API listening'));
  adminPort = Number(new URL(String(listening.url)).port);
});

afterAll(async () => {
  await cluster?.close();
});

describe('bounded HTTP on goverse-node', () => {
  it('300 trickled 1 MiB bodies raise RSS by at most 150 MB; the budget refuses the excess with a retriable 503 and the node keeps answering', async () => {
    const probeId = `${node.address}/probe`;
    expect((await node.api('/v1/objects/call', { type: 'Counter', id: probeId, method: 'increment' })).status).toBe(200);
    const baseline = rssBytes(node.pid);
    let peak = baseline;
    let storming = true;
    const sampler = (async () => {
      while (storming) {
        peak = Math.max(peak, rssBytes(node.pid));
        await tick(50);
      }
    })();
    const probes: { status: number; ms: number }[] = [];
    const prober = (async () => {
      while (storming) {
        const started = performance.now();
        const r = await node.api('/v1/objects/call', { type: 'Counter', id: probeId, method: 'increment' });
        const health = await fetch(`${node.opsUrl}/healthz`);
        probes.push({ status: r.status === 200 && health.status === 200 ? 200 : r.status, ms: performance.now() - started });
        await tick(100);
      }
    })();

    const clients = await Promise.all(Array.from({ length: 300 }, () => RawClient.connect(node.apiPort)));
    const outcomes = await Promise.all(
      clients.map(async (c, i) => {
        const body = paddedJson({ type: 'Counter', id: `${node.address}/slow-${i}`, method: 'get' }, MiB);
        await c.write(`POST /v1/objects/call HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
        // 16 KiB every 100 ms: 6.4 s per body, all 300 in flight together.
        for (let at = 0; at < body.length && c.open; at += 16 * 1024) {
          await c.write(body.subarray(at, at + 16 * 1024));
          await tick(100);
        }
        await c.reply();
        return c;
      }),
    );
    storming = false;
    await Promise.all([sampler, prober]);

    const accepted = outcomes.filter((c) => c.status() === 200);
    const refused = outcomes.filter((c) => c.status() === 503);
    const grown = peak - baseline;
    console.log(`slow bodies: RSS ${mb(baseline)} -> peak ${mb(peak)} (+${mb(grown)}); ${accepted.length} accepted, ${refused.length} refused; ` +
      `${probes.length} probes, slowest ${Math.round(Math.max(...probes.map((p) => p.ms)))} ms`);
    expect(accepted.length + refused.length, 'every request answered 200 or 503').toBe(300);
    for (const c of refused) {
      expect(c.json()).toMatchObject({ error: { code: 'unavailable', retriable: true, name: 'BodyBudgetExhaustedError' } });
      expect(c.header('retry-after')).toBe('1');
      expect(c.header('connection')).toBe('close');
    }
    await waitFor('refused connections closed by the node', () => refused.every((c) => !c.open));
    // The default budget is 64 MiB, half of it for bodies over 64 KiB: 32 of these at a time.
    expect(accepted.length).toBeGreaterThanOrEqual(16);
    expect(refused.length).toBeGreaterThanOrEqual(250);
    expect(grown).toBeLessThanOrEqual(150 * MiB);
    expect(probes.length).toBeGreaterThanOrEqual(5);
    expect(probes.every((p) => p.status === 200), JSON.stringify(probes)).toBe(true);
    for (const c of accepted) c.destroy();
  });

  it.each([
    ['declared', true],
    ['chunked', false],
  ] as const)('an over-limit body (%s) is answered 413 and its connection closed, not read on', async (_what, declared) => {
    const c = await RawClient.connect(node.apiPort);
    const framing = declared ? `content-length: ${1024 * MiB}` : 'transfer-encoding: chunked';
    await c.write(`POST /v1/objects/call HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${framing}\r\n\r\n`);
    const block = Buffer.alloc(64 * 1024, 'x');
    const chunk = declared ? block : Buffer.concat([Buffer.from(`${block.length.toString(16)}\r\n`), block, Buffer.from('\r\n')]);
    // Sends as fast as the node takes it, up to 256 MiB (a node that drains would take it all in a second or two).
    while (c.open && c.sent < 256 * MiB) if (!(await c.write(chunk, 5000))) break;
    await waitFor('the connection closed', () => !c.open, { timeoutMs: 10_000 });
    console.log(`over-limit ${_what} body: the client sent ${mb(c.sent)} before the connection closed (${c.endedBy})`);
    expect(c.sent).toBeLessThan(16 * MiB);
    expect(c.status()).toBe(413);
    expect(c.json()).toMatchObject({ error: { code: 'invalid_argument', message: expect.stringMatching(/larger than 1048576 bytes/) } });
    expect(c.header('connection')).toBe('close');
  });

  it.each([
    ['declared', true],
    ['chunked', false],
  ] as const)('parses a body that arrives in many pieces (%s), and keeps the connection', async (_what, declared) => {
    const body = paddedJson({ type: 'Counter', id: `${node.address}/pieces`, method: 'get' }, 300 * 1024);
    const c = await RawClient.connect(node.apiPort);
    const framing = declared ? `content-length: ${body.length}` : 'transfer-encoding: chunked';
    await c.write(`POST /v1/objects/call HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${framing}\r\n\r\n`);
    for (let at = 0; at < body.length; at += 7000) {
      const piece = body.subarray(at, at + 7000);
      await c.write(declared ? piece : Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
    }
    if (!declared) await c.write('0\r\n\r\n');
    await c.reply();
    expect(c.status()).toBe(200);
    expect(c.json()).toEqual({ result: { value: 0 } });
    expect(c.open).toBe(true);
    c.destroy();
  });

  it('closes the connection past the cap while the earlier ones stay open, and takes new ones once a slot frees', async () => {
    // Each of these has had a reply, so the node counts it, and keeps it alive.
    const held = await Promise.all(Array.from({ length: SMALL_CAP }, () => RawClient.connect(capped.apiPort)));
    await Promise.all(held.map((c) => c.request('GET /v1/objects/nope HTTP/1.1\r\nhost: x\r\n\r\n')));
    for (const c of held) expect(c.status()).toBe(404);
    const extra = await RawClient.connect(capped.apiPort);
    await extra.write('GET /v1/objects/nope HTTP/1.1\r\nhost: x\r\n\r\n');
    await waitFor('the connection past the cap closed', () => !extra.open);
    expect(extra.received.length).toBe(0);
    expect(held.every((c) => c.open)).toBe(true);
    await waitFor('the cap logged', () => logLines(capped).some((l) => l.msg === 'connection cap reached: closing new connections' && l.maxConnections === SMALL_CAP));

    held[0]!.destroy();
    await waitFor('a new connection served once a slot is free', async () => {
      const c = await RawClient.connect(capped.apiPort);
      await c.request('GET /v1/objects/nope HTTP/1.1\r\nhost: x\r\n\r\n');
      c.destroy();
      return c.status() === 404;
    });
    for (const c of held) c.destroy();
  });

  it.each([
    ['a garbage request line', 'HELLO THERE\r\n\r\n', 400, 'bad_request', /malformed HTTP request \(HPE_INVALID_METHOD/],
    ['a header without a colon', 'GET /healthz HTTP/1.1\r\nhost x\r\n\r\n', 400, 'bad_request', /malformed HTTP request/],
    ['headers over 16 KiB', `GET /healthz HTTP/1.1\r\nx-big: ${'a'.repeat(20 * 1024)}\r\n\r\n`, 431, 'bad_request', /larger than 16 KiB/],
    ['two lengths', 'POST /v1/objects/call HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n{}', 400, 'bad_request', /malformed/],
  ])('answers %s with a JSON error and closes', async (_what, bytes, status, code, message) => {
    for (const port of [node.apiPort, node.opsPort]) {
      const c = await RawClient.connect(port);
      await c.write(bytes);
      await waitFor('the connection closed', () => !c.open);
      expect(c.status()).toBe(status);
      expect(c.header('content-type')).toBe('application/json; charset=utf-8');
      expect(c.header('connection')).toBe('close');
      expect(c.json()).toMatchObject({ error: { code, retriable: false, message: expect.stringMatching(message) } });
    }
  });

  it('abandons a body that stalls with a 408 and closes the connection', async () => {
    const c = await RawClient.connect(node.apiPort);
    const started = performance.now();
    await c.write('POST /v1/objects/call HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"type":');
    await waitFor('the 408', () => !c.open, { timeoutMs: 30_000 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(9_000);
    expect(c.status()).toBe(408);
    expect(c.json()).toMatchObject({ error: { code: 'timeout', retriable: true, message: expect.stringMatching(/stalled/) } });
  });

  it('the admin API answers 401 with a challenge and code unauthenticated to any wrong token, and closes the connection', async () => {
    const body = '{"shards":"3","dryRun":true}';
    const cases: [string, string | null, RegExp][] = [
      ['no token', null, /^Bearer realm="goverse-admin"$/],
      ['another scheme', `Basic ${ADMIN_TOKEN}`, /^Bearer realm="goverse-admin"$/],
      ['same length', `Bearer ${ADMIN_TOKEN.slice(0, -1)}X`, /^Bearer realm="goverse-admin", error="invalid_token"$/],
      ['shorter', 'Bearer x', /error="invalid_token"/],
      ['longer', `Bearer ${ADMIN_TOKEN}${'y'.repeat(1000)}`, /error="invalid_token"/],
    ];
    for (const [what, auth, challenge] of cases) {
      const c = await RawClient.connect(adminPort);
      await c.request(
        `POST /admin/v1/shards/pin HTTP/1.1\r\nhost: x\r\n${auth === null ? '' : `authorization: ${auth}\r\n`}content-length: ${body.length}\r\n\r\n${body}`,
      );
      expect(c.status(), what).toBe(401);
      expect(c.header('www-authenticate'), what).toMatch(challenge);
      expect(c.header('connection'), what).toBe('close');
      expect(c.json(), what).toMatchObject({ error: { code: 'unauthenticated', retriable: false, message: expect.stringMatching(/bearer token/) } });
      await waitFor(`${what}: the connection closed`, () => !c.open);
    }
    // A large body behind a wrong token is not read either.
    const big = await RawClient.connect(adminPort);
    await big.write(`POST /admin/v1/shards/pin HTTP/1.1\r\nhost: x\r\nauthorization: Bearer nope\r\ncontent-length: ${1024 * MiB}\r\n\r\n`);
    const block = Buffer.alloc(64 * 1024, 'x');
    while (big.open && big.sent < 256 * MiB) if (!(await big.write(block, 5000))) break;
    await waitFor('the connection closed', () => !big.open);
    expect(big.status()).toBe(401);
    expect(big.sent).toBeLessThan(16 * MiB);

    const ok = await RawClient.connect(adminPort);
    await ok.request(`POST /admin/v1/shards/pin HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    expect(ok.status()).toBe(200);
    expect(ok.open).toBe(true);
    ok.destroy();
  });

  it('warns at start that an object API on all interfaces takes unauthenticated requests', async () => {
    const [port] = await freePorts(1);
    const logFile = join(cluster.dir, 'exposed.log');
    const proc = spawnManaged('exposed node', process.execPath, [NODE_BIN, '--listen', `0.0.0.0:${port}`, '--advertise', `127.0.0.1:${port}`], {
      env: {
        ...process.env,
        GOVERSE_ETCD_ENDPOINTS: cluster.etcd.endpoints.join(','),
        // A cluster of its own: it must not take shards from the nodes above.
        GOVERSE_ETCD_PREFIX: `${cluster.prefix}-exposed`,
        GOVERSE_NUM_SHARDS: String(cluster.numShards),
        GOVERSE_DB_PATH: join(cluster.dir, 'exposed.sqlite'),
      },
      logFile,
    });
    try {
      const warning = await waitFor('the exposure warning', () =>
        readLines(logFile).find((l) => l.msg === 'the object API accepts unauthenticated requests from every host that can reach it'),
      );
      expect(warning).toMatchObject({ level: 'warn', listen: `0.0.0.0:${port}`, interfaces: 'all' });
    } finally {
      await proc.stop();
    }
    // The test nodes listen on loopback: no warning.
    expect(logLines(node).some((l) => String(l.msg).includes('unauthenticated'))).toBe(false);
  });
});

/** A raw TCP client: what it sent (bytes the kernel took), what it received, and how the connection ended. */
class RawClient {
  received = Buffer.alloc(0);
  sent = 0;
  open = true;
  endedBy: string | null = null;
  private readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => (this.received = Buffer.concat([this.received, d])));
    this.closed = new Promise((resolve) => {
      socket.on('error', (err: NodeJS.ErrnoException) => (this.endedBy ??= err.code ?? err.message));
      socket.on('end', () => (this.endedBy ??= 'end'));
      socket.on('close', () => {
        this.open = false;
        resolve();
      });
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Resolves true once the kernel took the bytes, false if the connection failed or `timeoutMs` passed first. */
  write(data: string | Buffer, timeoutMs = 30_000): Promise<boolean> {
    if (!this.open || this.socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.socket.write(data, (err) => {
        clearTimeout(timer);
        if (err === undefined || err === null) this.sent += Buffer.byteLength(data);
        resolve(err === undefined || err === null);
      });
    });
  }

  /** Sends a request and waits for one whole reply (or the end of the connection). */
  async request(text: string): Promise<void> {
    await this.write(text);
    await this.reply();
  }

  /** Waits until a whole reply (headers and Content-Length bytes) arrived, or the connection ended. */
  reply(): Promise<void> {
    return waitFor('a whole reply', () => !this.open || this.complete(), { timeoutMs: 60_000 }).then(() => undefined);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private parts(): { head: string; body: string } | null {
    const text = this.received.toString('utf8');
    const at = text.indexOf('\r\n\r\n');
    return at < 0 ? null : { head: text.slice(0, at), body: text.slice(at + 4) };
  }

  private complete(): boolean {
    const p = this.parts();
    return p !== null && Buffer.byteLength(p.body) >= Number(this.header('content-length') ?? 0);
  }

  status(): number | null {
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(this.received.toString('latin1'));
    return m === null ? null : Number(m[1]);
  }

  header(name: string): string | undefined {
    const line = this.parts()
      ?.head.split('\r\n')
      .find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    return line?.slice(name.length + 1).trim();
  }

  json(): unknown {
    return JSON.parse(this.parts()?.body ?? '');
  }
}

/** A JSON object of exactly `bytes` bytes: the fields plus a padding field. */
function paddedJson(fields: Record<string, unknown>, bytes: number): Buffer {
  const bare = JSON.stringify({ ...fields, pad: '' });
  return Buffer.from(JSON.stringify({ ...fields, pad: 'x'.repeat(bytes - Buffer.byteLength(bare)) }));
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

function logLines(n: TestNode): Record<string, unknown>[] {
  return jsonLines(n.log());
}

function readLines(path: string): Record<string, unknown>[] {
  return existsSync(path) ? jsonLines(readFileSync(path, 'utf8')) : [];
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const mb = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
