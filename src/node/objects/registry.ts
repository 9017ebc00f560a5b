import type { JsonValue } from '../../core/api/json.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { UnknownMethodError, UnknownObjectTypeError } from './errors.js';
import type { MethodHandler, ObjectType, ObjectTypeDefinition } from './objectType.js';

// Names appear in URLs, metric labels and database keys: keep them plain.
const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const METHOD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** The object types a node can host, by name. */
export class ObjectRegistry {
  private readonly types = new Map<string, ObjectType>();

  register<S extends JsonValue>(name: string, definition: ObjectTypeDefinition<S>): void {
    if (!TYPE_NAME.test(name)) throw new InvalidArgumentError(`invalid object type name ${JSON.stringify(name)}`);
    if (this.types.has(name)) throw new InvalidArgumentError(`object type ${name} is already registered`);
    const methods = new Map<string, MethodHandler<JsonValue>>();
    for (const [method, handler] of Object.entries(definition.methods)) {
      if (!METHOD_NAME.test(method)) {
        throw new InvalidArgumentError(`object type ${name}: invalid method name ${JSON.stringify(method)}`);
      }
      // The host hands a handler only states produced by this same definition, so the cast back to S is sound.
      methods.set(method, (state, args, ctx) => handler(state as S, args, ctx));
    }
    this.types.set(name, {
      name,
      persistence: definition.persistence,
      methodNames: [...methods.keys()],
      initialState: (id) => definition.initialState(id),
      parseState: (value, origin) => definition.parseState(value, origin),
      method: (method) => {
        const handler = methods.get(method);
        if (handler === undefined) throw new UnknownMethodError(name, method);
        return handler;
      },
    });
  }

  /** Throws UnknownObjectTypeError. */
  get(name: string): ObjectType {
    const type = this.types.get(name);
    if (type === undefined) throw new UnknownObjectTypeError(name);
    return type;
  }

  names(): string[] {
    return [...this.types.keys()];
  }
}
