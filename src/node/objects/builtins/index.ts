import type { ObjectRegistry } from '../registry.js';
import { counterType } from './counter.js';
import { echoType } from './echo.js';
import { keyValueType, type KeyValueOptions } from './keyValue.js';

export interface BuiltinOptions {
  readonly keyValue: KeyValueOptions;
}

/** The types every goverse-node hosts, for the demo and the tests. */
export function registerBuiltinTypes(registry: ObjectRegistry, options: BuiltinOptions): void {
  registry.register('Counter', counterType);
  registry.register('Echo', echoType);
  registry.register('KeyValue', keyValueType(options.keyValue));
}
