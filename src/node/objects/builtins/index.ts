import type { ObjectRegistry } from '../registry.js';
import { counterType } from './counter.js';
import { echoType } from './echo.js';
import { keyValueType } from './keyValue.js';

/** The types every goverse-node hosts, for the demo and the tests. */
export function registerBuiltinTypes(registry: ObjectRegistry): void {
  registry.register('Counter', counterType);
  registry.register('Echo', echoType);
  registry.register('KeyValue', keyValueType);
}
