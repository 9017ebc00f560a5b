import type { JsonObject, JsonValue } from '../../core/api/json.js';
import { InvalidMethodArgumentError } from './errors.js';

/** Readers for method arguments: each names the argument and what was wrong with it. */

/** Rejects arguments outside `allowed`, so a misspelt optional argument is an error rather than ignored. */
export function onlyArgs(args: JsonObject, allowed: readonly string[]): void {
  for (const name of Object.keys(args)) {
    if (!allowed.includes(name)) {
      throw new InvalidMethodArgumentError(name, `is not accepted (expected ${allowed.join(', ') || 'no arguments'})`);
    }
  }
}

export function integerArg(args: JsonObject, name: string, fallback?: number): number {
  const value = args[name];
  if (value === undefined && fallback !== undefined) return fallback;
  if (value === undefined) throw new InvalidMethodArgumentError(name, 'is required');
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InvalidMethodArgumentError(name, `must be a safe integer, got ${describe(value)}`);
  }
  return value;
}

export function stringArg(args: JsonObject, name: string, maxLength: number): string {
  const value = optionalStringArg(args, name, maxLength);
  if (value === undefined) throw new InvalidMethodArgumentError(name, 'is required');
  return value;
}

export function optionalStringArg(args: JsonObject, name: string, maxLength: number): string | undefined {
  const value = args[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > maxLength) {
    throw new InvalidMethodArgumentError(name, `must be a non-empty string of at most ${maxLength} characters, got ${describe(value)}`);
  }
  return value;
}

export function valueArg(args: JsonObject, name: string): JsonValue {
  const value = args[name];
  if (value === undefined) throw new InvalidMethodArgumentError(name, 'is required');
  return value;
}

function describe(value: JsonValue): string {
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
