import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/core/errors.js';
import { registerBuiltinTypes } from '../../../src/node/objects/builtins/index.js';
import { KEY_VALUE_MAX_KEYS } from '../../../src/node/objects/builtins/keyValue.js';
import type { JsonObject, JsonValue } from '../../../src/node/objects/json.js';
import { ObjectRegistry } from '../../../src/node/objects/registry.js';

const registry = new ObjectRegistry();
registerBuiltinTypes(registry);
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
    expect(() => counter.parseState({ value: 1, recent: [['a']] })).toThrow(InvalidArgumentError);
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

  it('Echo is transient and replies with its arguments', async () => {
    expect(registry.get('Echo').persistence).toEqual({ kind: 'transient' });
    expect(await run('Echo', 'echo', null, { a: [1, { b: 'c' }] })).toEqual({ result: { a: [1, { b: 'c' }] } });
    expect(() => registry.get('Echo').parseState(1)).toThrow(InvalidArgumentError);
  });
});
