import type { JsonValue } from '../../core/api/json.js';
import type { ObjectPlacement } from '../../core/sharding/objectId.js';
import type { ObjectKey } from '../persistence/objectStore.js';
import { PersistenceError } from '../persistence/errors.js';
import { FifoMutex } from './fifoMutex.js';
import type { ObjectType } from './objectType.js';

/** `loading` until its state is loaded; `retired` once dropped (calls queued on it then look the object up again). */
export type ActivationPhase = 'loading' | 'active' | 'retired';

/** One object in memory: its state, the epoch it was activated under, and its call queue. */
export class Activation {
  phase: ActivationPhase = 'loading';
  state: JsonValue = null;
  /** Changed since it was last saved (only on-deactivate types ever are). */
  dirty = false;
  /** Wall-clock ms when activation started; set when it becomes active. */
  activatedAt = 0;
  readonly key: ObjectKey;
  readonly mutex = new FifoMutex();

  constructor(
    readonly type: ObjectType,
    id: string,
    readonly placement: ObjectPlacement,
    readonly epoch: number,
  ) {
    this.key = { type: type.name, id };
  }

  /** The map key: type names cannot contain `/`, so this is unambiguous. */
  static mapKey(type: string, id: string): string {
    return `${type}/${id}`;
  }

  get label(): string {
    return Activation.mapKey(this.key.type, this.key.id);
  }

  get shardId(): number | null {
    return this.placement.kind === 'shard' ? this.placement.shardId : null;
  }

  get persistent(): boolean {
    return this.type.persistence.kind === 'persistent';
  }

  get writeThrough(): boolean {
    return this.type.persistence.kind === 'persistent' && this.type.persistence.savePolicy === 'write-through';
  }
}

/** The object's state as stored, checked by its type; PersistenceError when it is not a valid state. */
export function decodeStored(act: Activation, text: string): JsonValue {
  try {
    return act.type.parseState(JSON.parse(text) as JsonValue, 'stored');
  } catch (err) {
    throw new PersistenceError(`${act.label}: the stored state is invalid`, { cause: err });
  }
}
