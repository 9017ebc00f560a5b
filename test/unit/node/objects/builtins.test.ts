import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../../src/core/errors.js';
import { registerBuiltinTypes } from '../../../../src/node/objects/builtins/index.js';
import { KEY_VALUE_MAX_KEYS, keyValueStateBytes } from '../../../../src/node/objects/builtins/keyValue.js';
import { StateTooLargeError } from '../../../../src/node/objects/errors.js';
import type { JsonObject, JsonValue } from '../../../../src/core/api/json.js';
import { ObjectRegistry } from '../../../../src/node/objects/registry.js';

const registry = new ObjectRegistry();
registerBuiltinTypes(registry, { keyValue: { maxBytes: 1024 * 1024 } });
const ctx = { type: 'T', id: 'x', signal: new AbortController().signal };

async function run(type: string, method: string, state: JsonValue, args: JsonObject = {}) {
  return registry.get(type).method(method)(state, args, ctx);
}

describe('ObjectRegistry', () => {
  it('validates type and method names and refuses duplicates', () => {
    const r = new ObjectRegistry();
    const def = { persistence: { kind: 'transient' } as const, initialState: () => null, parseState: () => null, methods: {} };
    expect(() => r.register('bad/name', def)).toThrow(InvalidArgumentError);
    expect(() => r.register('Bad', { ...def, methods: { 'no-dash': async () => ({ result: null }) } })).toThrow(/invalid method name/);
    r.register('Ok', def);
    expect(() => r.register('Ok', def)).toThrow(/already registered/);
    expect(r.names()).toEqual(['Ok']);
    expect(registry.get('Counter').methodNames).toEqual(['add', 'increment', 'get']);
  });
});

describe('built-in types', () => {
  it('Counter validates amounts and refuses to overflow', async () => {
    const counter = registry.get('Counter');
    expect(counter.persistence).toEqual({ kind: 'persistent', savePolicy: 'write-through' });
    const state = counter.initialState('x');
    await expect(run('Counter', 'add', state, {})).rejects.toMatchObject({ argument: 'amount' });
    await expect(run('Counter', 'add', state, { amount: 1.5 })).rejects.toMatchObject({ argument: 'amount' });
    await expect(run('Counter', 'add', state, { amount: 1, requestId: '' })).rejects.toMatchObject({ argument: 'requestId' });
    await expect(run('Counter', 'add', { value: Number.MAX_SAFE_INTEGER, recent: [] }, { amount: 1 })).rejects.toThrow(/2\^53/);
    expect(await run('Counter', 'increment', state, { amount: -3 })).toEqual({ result: { value: -3 }, state: { value: -3, recent: [] } });
    expect(() => counter.parseState({ value: 1, recent: [['a']] }, 'stored')).toThrow(InvalidArgumentError);
  });

  it('KeyValue is an on-deactivate map with own-key semantics and a size bound', async () => {
    expect(registry.get('KeyValue').persistence).toEqual({ kind: 'persistent', savePolicy: 'on-deactivate' });
    const empty = { entries: {} };
    expect(await run('KeyValue', 'get', empty, { key: '__proto__' })).toEqual({ result: { found: false, value: null } });
    const put = await run('KeyValue', 'put', empty, { key: '__proto__', value: null });
    expect(await run('KeyValue', 'get', put.state!, { key: '__proto__' })).toEqual({ result: { found: true, value: null } });
    expect(await run('KeyValue', 'delete', put.state!, { key: '__proto__' })).toEqual({ result: { deleted: true }, state: empty });
    expect(empty).toEqual({ entries: {} }); // states are not mutated

    const full = { entries: Object.fromEntries(Array.from({ length: KEY_VALUE_MAX_KEYS }, (_, i) => [`k${i}`, i])) };
    await expect(run('KeyValue', 'put', full, { key: 'new', value: 1 })).rejects.toMatchObject({ argument: 'key' });
    expect((await run('KeyValue', 'put', full, { key: 'k1', value: 2 })).result).toEqual({ ok: true });
  });

  it('KeyValue refuses a put or a created state beyond its byte limit, and still reads larger stored states', async () => {
    const small = new ObjectRegistry();
    registerBuiltinTypes(small, { keyValue: { maxBytes: 100 } });
    const kv = small.get('KeyValue');
    const put = (state: JsonValue, key: string, value: JsonValue) => kv.method('put')(state, { key, value }, ctx);
    const a = (await put({ entries: {} }, 'a', 'x'.repeat(60))).state!;
    expect(Buffer.byteLength(JSON.stringify(a))).toBe(14 + 3 + 1 + 62);
    const err = await put(a, 'b', 'y'.repeat(20)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateTooLargeError);
    expect(err).toMatchObject({ code: 'state_too_large', retriable: false, sizeBytes: 80 + 1 + 3 + 1 + 22, limitBytes: 100 });
    expect((err as Error).message).toMatch(/KeyValue state would be 107 bytes, more than the limit of 100 bytes \(--keyvalue-max-bytes/);
    // Replacing a value counts the difference; exactly at the limit is allowed.
    expect((await put(a, 'a', 'x'.repeat(80))).state).toEqual({ entries: { a: 'x'.repeat(80) } });
    await expect(put(a, 'a', 'x'.repeat(81))).rejects.toBeInstanceOf(StateTooLargeError);

    const big = { entries: { a: 'z'.repeat(200) } };
    expect(() => kv.parseState(big, 'created')).toThrow(StateTooLargeError);
    expect(kv.parseState(big, 'stored')).toEqual(big);
    // A state over the limit (stored under a larger one) can shrink, not grow.
    expect((await kv.method('delete')(big, { key: 'a' }, ctx)).state).toEqual({ entries: {} });
    await expect(put(big, 'b', 1)).rejects.toBeInstanceOf(StateTooLargeError);
  });

  it('KeyValue tracks its stored size exactly through puts and deletes', async () => {
    const kv = registry.get('KeyValue');
    const key = fc.oneof(fc.constantFrom('a', 'b', '__proto__', 'é', '1', '10'), fc.string({ minLength: 1, maxLength: 5 }));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), key, value: fc.jsonValue({ maxDepth: 2 }) }),
      fc.record({ kind: fc.constant('delete' as const), key }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 20 }), async (ops) => {
        let state: JsonValue = { entries: {} };
        for (const o of ops) {
          const args: JsonObject = o.kind === 'put' ? { key: o.key, value: o.value as JsonValue } : { key: o.key };
          state = (await kv.method(o.kind)(state, args, ctx)).state ?? state;
          const entries = (state as { entries: JsonObject }).entries;
          expect(keyValueStateBytes(entries)).toBe(Buffer.byteLength(JSON.stringify(state)));
        }
      }),
    );
  });

  it('Echo is transient and replies with its arguments', async () => {
    expect(registry.get('Echo').persistence).toEqual({ kind: 'transient' });
    expect(await run('Echo', 'echo', null, { a: [1, { b: 'c' }] })).toEqual({ result: { a: [1, { b: 'c' }] } });
    expect(() => registry.get('Echo').parseState(1, 'stored')).toThrow(InvalidArgumentError);
  });
});
