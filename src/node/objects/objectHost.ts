import { isJsonObject, type JsonValue } from '../../core/api/json.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { InvalidArgumentError, NotOwnerError } from '../../core/errors.js';
import { nullLogger, type Logger } from '../../core/log/logger.js';
import type { ObjectPlacement } from '../../core/sharding/objectId.js';
import { StaleEpochError } from '../persistence/errors.js';
import type { ObjectStore } from '../persistence/objectStore.js';
import { Activation, decodeStored } from './activation.js';
import { ActivationRefusedError } from './errors.js';
import type { ActivationReason, DeactivationReason, LifecycleSink, ObjectLifecycleEvent } from './lifecycleLog.js';
import { callSignal, invoke } from './methodCall.js';
import type { ObjectType } from './objectType.js';
import type { ObjectRegistry } from './registry.js';
import type { ShardGate, ShardReadLease } from './shardGate.js';
import type { WaitOptions } from './waitOptions.js';

export interface ObjectHostOptions {
  readonly registry: ObjectRegistry;
  readonly store: ObjectStore;
  readonly gate: ShardGate;
  readonly events: LifecycleSink;
  /**
   * Where an object lives now (its serving shard, or its node), by the rule in force: it changes while the shard count
   * does (docs/RESHARDING.md §4). Throws InvalidObjectIdError for IDs routing rejects.
   */
  readonly place: (id: string) => ObjectPlacement;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/**
 * `save`: save each object (after the calls queued on it), then drop it; an object whose save fails is kept and
 * reported, so the caller does not release its shard. `fenced`: the node may already have lost the shard, so drop
 * everything at once, saving unsaved changes only where the epoch guard lets them through; `fencedAt` (wall-clock
 * ms) is when the node stopped being able to serve.
 */
export type EvictionMode = { readonly kind: 'save' } | { readonly kind: 'fenced'; readonly fencedAt: number };

export interface EvictionFailure {
  readonly type: string;
  readonly id: string;
  readonly error: unknown;
}

export interface EvictionReport {
  readonly deactivated: number;
  /** Objects kept because they could not be saved (or their queue did not drain in time). */
  readonly failed: readonly EvictionFailure[];
}

export interface HostStats {
  /** Active objects per shard (regular and fixed-shard IDs); shards without objects are absent. */
  readonly objectsByShard: ReadonlyMap<number, number>;
  readonly objectsByType: ReadonlyMap<string, number>;
  /** Active objects per type, then per shard (null for fixed-node objects): the metrics' label pairs. */
  readonly objectsByTypeAndShard: ReadonlyMap<string, ReadonlyMap<number | null, number>>;
  /** Active fixed-node objects. */
  readonly nodeObjects: number;
  /** Method calls executed per shard since start (monotonic counters: rates are the reader's business). */
  readonly callsByShard: ReadonlyMap<number, number>;
  readonly nodeCalls: number;
  readonly activations: 'accepting' | 'refusing';
}

type EpochNow = () => number;

/** How often a call follows its object to the other shard of its pair before it gives up (retriably). */
const MAX_REPLACEMENTS = 4;

/**
 * Hosts a node's virtual objects: activates them on first use (loading their state under this node's ownership
 * epoch), runs the calls to one object one at a time in arrival order (different objects run concurrently), saves
 * them according to their type's policy and deactivates them when the runtime evicts their shard.
 */
export class ObjectHost {
  private readonly objects = new Map<string, Activation>();
  private readonly callsByShard = new Map<number, number>();
  private nodeCalls = 0;
  private refusing = false;
  private readonly registry: ObjectRegistry;
  private readonly store: ObjectStore;
  private readonly gate: ShardGate;
  private readonly events: LifecycleSink;
  private readonly place: (id: string) => ObjectPlacement;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(options: ObjectHostOptions) {
    this.registry = options.registry;
    this.store = options.store;
    this.gate = options.gate;
    this.events = options.events;
    this.place = options.place;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? nullLogger;
  }

  /**
   * Calls `method` on the object, activating it if needed. Throws UnknownObjectTypeError, UnknownMethodError,
   * InvalidObjectIdError, InvalidArgumentError (bad arguments), NotOwnerError / StaleEpochError / lock and wait
   * errors (retriable), PersistenceError, or whatever typed error the method raised.
   */
  async call(type: string, id: string, method: string, args: JsonValue = {}, options: WaitOptions = {}): Promise<JsonValue> {
    const objectType = this.registry.get(type);
    const handler = objectType.method(method);
    if (!isJsonObject(args)) throw new InvalidArgumentError(`${type}.${method}: arguments must be a JSON object`);
    return this.gated(id, options, `call ${type}.${method}`, (placement, epochNow, lockSignal) =>
      this.withActivation(objectType, id, placement, epochNow, 'call', undefined, options, async (act) => {
        this.countCall(placement);
        const outcome = await invoke(handler, act, method, args, () => callSignal(options.signal, lockSignal?.()));
        if (outcome.state !== undefined) await this.commit(act, outcome.state, epochNow);
        return outcome.result;
      }),
    );
  }

  /**
   * Activates the object now, with `initialState` (validated by its type) if it does not exist yet.
   * `created` is false when it already existed (active here or stored); its state is then left as it is.
   */
  async create(type: string, id: string, initialState?: JsonValue, options: WaitOptions = {}): Promise<{ created: boolean }> {
    const objectType = this.registry.get(type);
    const initial = initialState === undefined ? undefined : objectType.parseState(initialState, 'created');
    return this.gated(id, options, `create ${type}`, (placement, epochNow) =>
      this.withActivation(objectType, id, placement, epochNow, 'create', initial, options, async (_act, created) => ({
        created,
      })),
    );
  }

  /** Deactivates the object and deletes its stored state. `existed` is false when there was nothing to delete. */
  async delete(type: string, id: string, options: WaitOptions = {}): Promise<{ existed: boolean }> {
    const objectType = this.registry.get(type);
    return this.gated(id, options, `delete ${type}`, (placement, epochNow) =>
      this.withActivation(objectType, id, placement, epochNow, 'delete', undefined, options, async (act, created) => {
        if (act.persistent) await this.fencedWrite(act, () => this.store.delete(act.key, act.epoch));
        this.retire(act, 'deleted', false);
        return { existed: !created };
      }),
    );
  }

  /**
   * Deactivates the objects of one shard (regular and fixed-shard IDs), or only those whose ID `only` accepts (the
   * half of a shard that a split moves). The runtime holds the shard's write lock, so no call is running on them.
   * `wait` bounds how long a save-mode eviction waits for each object's queue.
   */
  evictShard(shardId: number, mode: EvictionMode, only: (id: string) => boolean = () => true, wait: WaitOptions = {}): Promise<EvictionReport> {
    return this.evict(
      [...this.objects.values()].filter((act) => act.shardId === shardId && only(act.key.id)),
      mode,
      'evicted',
      wait,
    );
  }

  /** Deactivates every object, fixed-node ones included (graceful stop, or fencing). */
  evictAll(mode: EvictionMode, wait: WaitOptions = {}): Promise<EvictionReport> {
    return this.evict([...this.objects.values()], mode, 'shutdown', wait);
  }

  /** From now on objects that are not active are not activated (ActivationRefusedError); active ones keep serving. */
  refuseActivations(): void {
    this.refusing = true;
  }

  acceptActivations(): void {
    this.refusing = false;
  }

  stats(): HostStats {
    const objectsByShard = new Map<number, number>();
    const objectsByType = new Map<string, number>();
    const objectsByTypeAndShard = new Map<string, Map<number | null, number>>();
    let nodeObjects = 0;
    for (const act of this.objects.values()) {
      const shard = act.shardId;
      if (shard === null) nodeObjects++;
      else objectsByShard.set(shard, (objectsByShard.get(shard) ?? 0) + 1);
      objectsByType.set(act.key.type, (objectsByType.get(act.key.type) ?? 0) + 1);
      let perShard = objectsByTypeAndShard.get(act.key.type);
      if (perShard === undefined) objectsByTypeAndShard.set(act.key.type, (perShard = new Map()));
      perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
    }
    return {
      objectsByShard,
      objectsByType,
      objectsByTypeAndShard,
      nodeObjects,
      callsByShard: new Map(this.callsByShard),
      nodeCalls: this.nodeCalls,
      activations: this.refusing ? 'refusing' : 'accepting',
    };
  }

  /**
   * Runs `fn` under the ownership gate: for shard objects with the shard read lock held throughout, for fixed-node
   * objects only if they are this node's. `epochNow` reads the current epoch, throwing NotOwnerError when there is none.
   * The placement is computed again under the lock: a split or merge of the shard (under its write lock) may have
   * moved the object to the other shard of its pair, whose lock is then taken instead.
   */
  private async gated<T>(
    id: string,
    options: WaitOptions,
    label: string,
    fn: (placement: ObjectPlacement, epochNow: EpochNow, lockSignal: (() => AbortSignal) | undefined) => Promise<T>,
  ): Promise<T> {
    let placement = this.place(id);
    if (placement.kind === 'node') {
      if (placement.node !== this.gate.nodeAddress) {
        throw new NotOwnerError(`fixed-node object of ${placement.node} cannot be served by ${this.gate.nodeAddress}`);
      }
      return fn(placement, () => {
        const epoch = this.gate.nodeEpoch();
        if (epoch === null) throw new NotOwnerError(`node ${this.gate.nodeAddress} is not serving (fenced or unregistered)`);
        return epoch;
      }, undefined);
    }
    for (let attempt = 0; ; attempt++) {
      const { shardId } = placement;
      const lease = await this.gate.acquireRead(shardId, { ...options, label });
      const now = this.place(id);
      if (now.kind === 'shard' && now.shardId !== shardId) {
        lease.release();
        // Pairs change once per transition step; a placement still moving after a few rounds is a view in flux.
        if (attempt >= MAX_REPLACEMENTS) throw new NotOwnerError(`${id} keeps changing shard (shard count transition); retry`, now.shardId);
        placement = now;
        continue;
      }
      return this.underLease(placement, shardId, lease, fn);
    }
  }

  private async underLease<T>(
    placement: ObjectPlacement,
    shardId: number,
    lease: ShardReadLease,
    fn: (placement: ObjectPlacement, epochNow: EpochNow, lockSignal: (() => AbortSignal) | undefined) => Promise<T>,
  ): Promise<T> {
    try {
      return await fn(placement, () => {
        const epoch = this.gate.shardEpoch(shardId);
        if (epoch === null) throw new NotOwnerError(`shard ${shardId} is not served by ${this.gate.nodeAddress}`, shardId);
        return epoch;
      }, () => lease.signal);
    } finally {
      lease.release();
    }
  }

  /**
   * Runs `fn` holding the object's queue, activating the object first if needed. `created` tells whether this
   * activation created it. A retired object (evicted, deleted, fenced) is looked up again, with the gate re-checked.
   */
  private async withActivation<T>(
    type: ObjectType,
    id: string,
    placement: ObjectPlacement,
    epochNow: EpochNow,
    reason: ActivationReason,
    initial: JsonValue | undefined,
    wait: WaitOptions,
    fn: (act: Activation, created: boolean) => Promise<T>,
  ): Promise<T> {
    const key = Activation.mapKey(type.name, id);
    for (;;) {
      const epoch = epochNow();
      const existing = this.objects.get(key);
      if (existing === undefined) {
        if (this.refusing) throw new ActivationRefusedError(type.name, id, placement.kind === 'shard' ? placement.shardId : null);
        const act = new Activation(type, id, placement, epoch);
        this.objects.set(key, act);
        const release = act.mutex.tryLock()!; // a new mutex is free
        try {
          const created = await this.activate(act, reason, initial);
          if (act.phase === 'retired') continue; // fenced while loading
          return await fn(act, created);
        } finally {
          release();
        }
      }
      const release = await existing.mutex.lock(wait, this.clock, `waiting for ${key}`);
      try {
        if (existing.phase === 'retired') continue;
        if (existing.epoch !== epochNow()) {
          await this.deactivateSaving(existing, 'epoch-changed');
          continue;
        }
        return await fn(existing, false);
      } finally {
        release();
      }
    }
  }

  /** Loads the state (raising the stored epoch), then marks the object active. Returns whether it was created. */
  private async activate(act: Activation, reason: ActivationReason, initial: JsonValue | undefined): Promise<boolean> {
    const startedAt = this.clock.now();
    let created = true;
    try {
      const fresh = initial !== undefined ? initial : act.type.initialState(act.key.id);
      if (act.persistent) {
        const loaded = await this.store.load(act.key, act.epoch, JSON.stringify(fresh));
        created = loaded.created;
        act.state = created ? fresh : decodeStored(act, loaded.state);
      } else {
        act.state = fresh;
      }
    } catch (err) {
      this.forget(act);
      throw err;
    }
    if (act.phase === 'loading') {
      act.phase = 'active';
      act.activatedAt = startedAt;
      this.emit({ event: 'activated', reason, time: startedAt, ...this.eventBase(act) });
    }
    return created;
  }

  /**
   * Applies a call's new state. A change is acknowledged only while this activation still holds the current epoch;
   * write-through types are saved first, and if the save fails the old state stays (the client's retry recomputes).
   */
  private async commit(act: Activation, next: JsonValue, epochNow: EpochNow): Promise<void> {
    if (act.phase === 'retired' || act.epoch !== epochNow()) {
      throw new NotOwnerError(`${act.label} was deactivated while the call ran; its change was not applied`, act.shardId);
    }
    const confirmedAt = this.clock.now();
    if (act.writeThrough) await this.fencedWrite(act, () => this.store.save(act.key, act.epoch, JSON.stringify(next)), confirmedAt);
    else if (act.persistent) act.dirty = true;
    act.state = next;
  }

  /**
   * Runs a store write; a StaleEpochError means a newer owner took the object over, so this copy is dropped. Its end
   * is dated at `confirmedAt`, when ownership was last confirmed for the write: a process frozen between that check
   * and the write (past its fence) served nothing after it, and the refused write changed nothing.
   */
  private async fencedWrite<T>(act: Activation, write: () => Promise<T>, confirmedAt?: number): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (err instanceof StaleEpochError) {
        this.logger.warn('object superseded by a newer owner; dropping this copy', { object: act.label, err });
        this.retire(act, 'superseded', false, confirmedAt);
      }
      throw err;
    }
  }

  private async evict(
    acts: Activation[],
    mode: EvictionMode,
    reason: 'evicted' | 'shutdown',
    wait: WaitOptions,
  ): Promise<EvictionReport> {
    if (mode.kind === 'fenced') {
      // No waiting for queues: a running call can no longer acknowledge (commit re-checks the epoch). Unsaved
      // changes are still saved, under the object's own epoch: the store refuses the write if a newer owner has
      // activated the object, and otherwise the state it keeps holds only acknowledged calls. So a spurious fence
      // (a slow etcd, a loaded machine) loses nothing, and a real one overwrites nothing.
      // Only objects that became active were recorded as activated; one still loading just disappears.
      const active = acts.filter((act) => act.phase === 'active');
      for (const act of acts) this.forget(act);
      await Promise.all(
        active.map(async (act) => {
          let saved = act.persistent && !act.dirty;
          if (act.dirty) {
            try {
              await this.store.save(act.key, act.epoch, JSON.stringify(act.state));
              saved = true;
            } catch (err) {
              if (!(err instanceof StaleEpochError)) this.logger.error('fenced object could not be saved; its unsaved changes are lost', { object: act.label, err });
            }
          }
          this.emit({ event: 'deactivated', reason: 'fenced', saved, time: Math.max(mode.fencedAt, act.activatedAt), ...this.eventBase(act) });
        }),
      );
      return { deactivated: acts.length, failed: [] };
    }
    const failed: EvictionFailure[] = [];
    await Promise.all(
      acts.map(async (act) => {
        try {
          const release = await act.mutex.lock(wait, this.clock, `evicting ${act.label}`);
          try {
            if (act.phase !== 'retired') await this.deactivateSaving(act, reason);
          } finally {
            release();
          }
        } catch (error) {
          this.logger.warn('object kept: eviction failed', { object: act.label, err: error });
          failed.push({ type: act.key.type, id: act.key.id, error });
        }
      }),
    );
    return { deactivated: acts.length - failed.length, failed };
  }

  /** Saves unsaved changes, then drops the object. The caller holds its queue. Throws (object kept) if saving fails. */
  private async deactivateSaving(act: Activation, reason: DeactivationReason): Promise<void> {
    if (act.dirty) {
      try {
        await this.fencedWrite(act, () => this.store.save(act.key, act.epoch, JSON.stringify(act.state)));
      } catch (err) {
        if (err instanceof StaleEpochError) return; // dropped: the newer owner's state wins
        throw err;
      }
      act.dirty = false;
    }
    this.retire(act, reason, act.persistent);
  }

  /** Drops the object and records its deactivation (if it ever became active). */
  private retire(act: Activation, reason: DeactivationReason, saved: boolean, time = this.clock.now()): void {
    const wasActive = act.phase === 'active';
    this.forget(act);
    if (wasActive) this.emit({ event: 'deactivated', reason, saved, time, ...this.eventBase(act) });
  }

  private forget(act: Activation): void {
    act.phase = 'retired';
    if (this.objects.get(act.label) === act) this.objects.delete(act.label);
  }

  private countCall(placement: ObjectPlacement): void {
    if (placement.kind === 'node') this.nodeCalls++;
    else this.callsByShard.set(placement.shardId, (this.callsByShard.get(placement.shardId) ?? 0) + 1);
  }

  private eventBase(act: Activation): { node: string; type: string; id: string; shard: number | null; epoch: number } {
    return { node: this.gate.nodeAddress, type: act.key.type, id: act.key.id, shard: act.shardId, epoch: act.epoch };
  }

  private emit(event: ObjectLifecycleEvent): void {
    try {
      this.events.record(event);
    } catch (err) {
      this.logger.error('cannot record an object lifecycle event', { err, event });
    }
  }
}
