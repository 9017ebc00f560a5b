/** Running one method of an object: the handler's context (with its abort signal built on demand) and its errors. */
import { GoverseError, InternalError } from '../../core/errors.js';
import type { Activation } from './activation.js';
import type { JsonObject, JsonValue } from '../../core/api/json.js';
import type { MethodHandler, MethodOutcome } from './objectType.js';

const NEVER_ABORTED = new AbortController().signal;

/** The caller's signal and the lock's, combined: built only when a method reads it (most never do). */
export function callSignal(caller: AbortSignal | undefined, lock: AbortSignal | undefined): AbortSignal {
  if (caller === undefined) return lock ?? NEVER_ABORTED;
  return lock === undefined ? caller : AbortSignal.any([caller, lock]);
}

export async function invoke(
  handler: MethodHandler<JsonValue>,
  act: Activation,
  method: string,
  args: JsonObject,
  makeSignal: () => AbortSignal,
): Promise<MethodOutcome<JsonValue>> {
  let signal: AbortSignal | undefined;
  const ctx = {
    type: act.key.type,
    id: act.key.id,
    get signal(): AbortSignal {
      return (signal ??= makeSignal());
    },
  };
  try {
    return await handler(act.state, args, ctx);
  } catch (err) {
    if (err instanceof GoverseError) throw err;
    throw new InternalError(`${act.key.type}.${method} on ${act.key.id} failed`, { cause: err });
  }
}
