/**
 * The interop harness's pure parts, without upstream processes (so this file runs with or without the kit): the
 * hand-written protobuf codec against the upstream gate's documented bytes, upstream's YAML config, and the
 * severity of upstream log lines.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  decodeAny,
  decodeFields,
  encodeAny,
  encodeInt32,
  encodeVarint,
  int32Field,
  ProtobufDecodeError,
  readInt32,
  stringField,
} from '../../harness/protobuf.js';
import { managedTempDir } from '../../harness/processes.js';
import { locateUpstreamKit, unexpectedErrors, upstreamConfigYaml, upstreamLogSeverity } from '../../harness/upstream.js';
import { counterRequests, decodeCounterResponse } from '../../harness/upstreamGate.js';

const bytes = (s: string): number[] => [...Buffer.from(s, 'latin1')];

describe('the protobuf codec', () => {
  it('writes the request bytes the gate documents', () => {
    // printf '\012\031/counter.IncrementRequest\022\002\010\005': Any{IncrementRequest{amount: 5}}
    expect([...counterRequests.increment(5)]).toEqual(bytes('\x0a\x19/counter.IncrementRequest\x12\x02\x08\x05'));
    // printf '\012\023/counter.GetRequest': an empty message has no value field
    expect([...counterRequests.get()]).toEqual(bytes('\x0a\x13/counter.GetRequest'));
    expect([...counterRequests.reset()]).toEqual(bytes('\x0a\x15/counter.ResetRequest'));
    // amount 0 is proto3's default: not written
    expect([...counterRequests.decrement(0)]).toEqual(bytes('\x0a\x19/counter.DecrementRequest'));
  });

  it('reads a CounterResponse as the gate returns it (0a <len> name 10 <value> inside the Any)', () => {
    // An answer of a real upstream gate to Increment(5) on Counter-a.
    const answer = Buffer.from('Cit0eXBlLmdvb2dsZWFwaXMuY29tL2NvdW50ZXIuQ291bnRlclJlc3BvbnNlEg0KCUNvdW50ZXItYRAF', 'base64');
    expect(decodeAny(answer).typeUrl).toBe('type.googleapis.com/counter.CounterResponse');
    expect([...decodeAny(answer).value]).toEqual(bytes('\x0a\x09Counter-a\x10\x05'));
    expect(decodeCounterResponse(answer)).toEqual({ name: 'Counter-a', value: 5 });
    // Value 0 is omitted by the writer and reads as 0.
    const zero = encodeAny({ typeUrl: '/counter.CounterResponse', value: stringField(1, 'c') });
    expect(decodeCounterResponse(zero)).toEqual({ name: 'c', value: 0 });
    expect(() => decodeCounterResponse(counterRequests.get())).toThrow(/expected a counter.CounterResponse/);
  });

  it('encodes varints and negative int32 as protobuf does, and round-trips them', () => {
    expect([...encodeVarint(0)]).toEqual([0]);
    expect([...encodeVarint(1)]).toEqual([1]);
    expect([...encodeVarint(127)]).toEqual([0x7f]);
    expect([...encodeVarint(300)]).toEqual([0xac, 0x02]);
    expect([...encodeVarint(2n ** 64n - 1n)]).toEqual([...Array<number>(9).fill(0xff), 0x01]);
    expect(() => encodeVarint(-1)).toThrow(RangeError);
    // int32 -2 sign-extends to 64 bits: ten bytes.
    expect([...encodeInt32(-2)]).toEqual([0xfe, ...Array<number>(8).fill(0xff), 0x01]);
    expect(() => encodeInt32(2 ** 31)).toThrow(RangeError);
    for (const v of [1, -1, 150, -150, 2 ** 31 - 1, -(2 ** 31)]) expect(readInt32(decodeFields(int32Field(2, v)), 2)).toBe(v);
  });

  it('rejects truncated or unsupported input with the offset', () => {
    expect(() => decodeFields(Uint8Array.from([0x08, 0x80]))).toThrow(ProtobufDecodeError);
    expect(() => decodeFields(Uint8Array.from([0x0a, 0x05, 0x41]))).toThrow(/byte 1: length 5 runs past the end/);
    expect(() => decodeFields(Uint8Array.from([0x0d, 0, 0, 0, 0]))).toThrow(/unsupported wire type 5/);
    expect(() => decodeFields(Uint8Array.from([0x00, 0x01]))).toThrow(/field number 0/);
    expect(() => decodeFields(Uint8Array.from(Array<number>(11).fill(0x80)))).toThrow(/10 bytes/);
    // A string where an int32 belongs.
    expect(() => readInt32(decodeFields(stringField(2, 'x')), 2)).toThrow(/wire type 2, expected 0/);
  });
});

describe("upstream's YAML config", () => {
  it('has the keys upstream reads: shards, etcd, stability, stuck timeout, nodes and gates with their addresses', () => {
    const doc = parse(
      upstreamConfigYaml({
        numShards: 64,
        etcdEndpoints: ['127.0.0.1:1'],
        prefix: '/p',
        stabilityMs: 1500,
        stuckTimeoutMs: 5000,
        nodes: [{ id: 'node0', grpcAddr: '127.0.0.1:2', advertiseAddr: '127.0.0.1:2', httpAddr: '127.0.0.1:3' }],
        gates: [{ id: 'gate0', grpcAddr: '127.0.0.1:4', advertiseAddr: '127.0.0.1:4', httpAddr: '127.0.0.1:5', opsAddr: '127.0.0.1:6' }],
      }),
    ) as unknown;
    expect(doc).toEqual({
      version: 1,
      cluster: {
        shards: 64,
        provider: 'etcd',
        etcd: { endpoints: ['127.0.0.1:1'], prefix: '/p' },
        cluster_state_stability_duration: '1500ms',
        stuck_shard_reallocation_timeout: '5000ms',
      },
      nodes: [{ id: 'node0', grpc_addr: '127.0.0.1:2', advertise_addr: '127.0.0.1:2', http_addr: '127.0.0.1:3' }],
      gates: [{ id: 'gate0', grpc_addr: '127.0.0.1:4', advertise_addr: '127.0.0.1:4', http_addr: '127.0.0.1:5', ops_addr: '127.0.0.1:6' }],
    });
  });
});

describe('upstream log lines', () => {
  it('get their severity from each of the formats upstream writes', () => {
    expect(upstreamLogSeverity('[2026-12-07 06:56:12.384] [WARN] [Cluster] Cluster state not yet stable')).toBe('warn');
    expect(upstreamLogSeverity('[2026-12-07 06:56:12.384] [ERROR] [Gate] Failed to register with node x: boom')).toBe('error');
    expect(upstreamLogSeverity('[2026-12-07 06:56:12.384] [FATAL] [Server] bye')).toBe('error');
    expect(upstreamLogSeverity('[2026-12-07 06:56:12.384] [INFO] [Node] [ERROR] in the message')).toBe('info');
    expect(upstreamLogSeverity('{"level":"warn","ts":"2026-12-07T06:56:12.384Z","logger":"etcd-client","msg":"retrying"}')).toBe('warn');
    expect(upstreamLogSeverity('{"level":"error","ts":"2026-12-07T06:56:12.384Z","msg":"lost"}')).toBe('error');
    expect(upstreamLogSeverity('ERROR: 2026/12/07 06:56:12 [core] grpc: failed')).toBe('error');
    expect(upstreamLogSeverity('WARNING: 2026/12/07 06:56:12 [core] slow')).toBe('warn');
    expect(upstreamLogSeverity('panic: runtime error: index out of range')).toBe('error');
    expect(upstreamLogSeverity('fatal error: concurrent map writes')).toBe('error');
    expect(upstreamLogSeverity('goroutine 1 [running]:')).toBe('unknown');
    expect(upstreamLogSeverity('{not json')).toBe('unknown');
  });

  it('are listed when at error level and not expected', () => {
    const log = [
      '[2026-12-07 06:56:12.384] [ERROR] [Gate] Failed to register gate with node 127.0.0.1:9: http2: frame too large',
      '[2026-12-07 06:56:12.384] [WARN] [Cluster] not yet stable',
      'panic: boom',
    ].join('\n');
    expect(unexpectedErrors('gate0', log, [{ pattern: /frame too large/, reason: 'goverse-node speaks no gRPC' }])).toEqual([
      { source: 'gate0', text: 'panic: boom' },
    ]);
  });
});

describe('the upstream kit', () => {
  it('is taken from GOVERSE_UPSTREAM_KIT when set, and a wrong path is an error rather than a skip', () => {
    const dir = managedTempDir('kit');
    expect(() => locateUpstreamKit({ GOVERSE_UPSTREAM_KIT: dir })).toThrow(/no build.sh/);
    writeFileSync(join(dir, 'build.sh'), '');
    expect(locateUpstreamKit({ GOVERSE_UPSTREAM_KIT: dir })).toEqual({ available: true, dir });
    const fallback = locateUpstreamKit({});
    if (!fallback.available) expect(fallback.reason).toMatch(/shared\/upstream-goverse\/build.sh does not exist/);
  });
});
