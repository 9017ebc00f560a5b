/**
 * Reading the cluster history: one list of `<prefix>/history/`, or a list and then a watch (the console's timeline,
 * `goverse-top history --follow`). A watch that etcd cancels (compacted history) is followed by a new list, delivered
 * whole; readers keep what they already had (HistoryTimeline reports only what is new).
 */
import { AbortedError, describeError, InternalError } from '../../core/errors.js';
import type { HistoryUpdate } from '../../core/history/timeline.js';
import type { Keyspace } from '../../core/keyspace/keys.js';
import { type Logger, nullLogger } from '../../core/log/logger.js';
import type { CallOptions, EtcdClient, RangeResult, WatchHandle } from '../etcd/client.js';
import { backoffDelay, sleep } from '../timing.js';

/** Every entry (and malformed value) under the history prefix, at one revision. */
export function readHistory(client: EtcdClient, keys: Keyspace, options?: CallOptions): Promise<RangeResult> {
  return client.rangePrefix(keys.historyRoot, options);
}

export interface HistoryFeedOptions {
  readonly client: EtcdClient;
  readonly keys: Keyspace;
  /** Called synchronously, in order: a whole list, then the watch's events. */
  readonly onUpdate: (update: HistoryUpdate) => void;
  readonly logger?: Logger;
}

export class HistoryFeed {
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private watch: WatchHandle | null = null;
  private loop: Promise<void> | null = null;
  private started = false;

  constructor(private readonly options: HistoryFeedOptions) {
    this.log = (options.logger ?? nullLogger).child({ component: 'history-feed' });
  }

  /**
   * Lists (retrying until it succeeds) and watches from there; resolves after the first list. With `initial` (a
   * list the caller already read) it watches from that list's revision at once.
   */
  async start(initial?: RangeResult): Promise<void> {
    if (this.started) throw new InternalError('HistoryFeed.start() called twice');
    this.started = true;
    if (initial === undefined) {
      await this.relist();
      return;
    }
    this.options.onUpdate({ kind: 'reset', kvs: initial.kvs });
    this.watchFrom(initial.revision + 1);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.watch?.cancel();
    this.watch = null;
  }

  private relist(): Promise<void> {
    this.loop ??= this.listUntilDone().finally(() => (this.loop = null));
    return this.loop;
  }

  private async listUntilDone(): Promise<void> {
    for (let attempt = 0; !this.abort.signal.aborted; attempt++) {
      try {
        const list = await readHistory(this.options.client, this.options.keys, { signal: this.abort.signal });
        if (this.abort.signal.aborted) break;
        this.options.onUpdate({ kind: 'reset', kvs: list.kvs });
        this.watchFrom(list.revision + 1);
        return;
      } catch (err) {
        if (this.abort.signal.aborted) break;
        this.log.warn('listing the history failed; retrying', { attempt, err: describeError(err) });
        await sleep(backoffDelay(attempt, 100, 5000), this.abort.signal);
      }
    }
    throw new AbortedError('history feed stopped');
  }

  private watchFrom(revision: number): void {
    const handle = this.options.client.watchPrefix(this.options.keys.historyRoot, revision, {
      onEvents: (events) => {
        if (events.length > 0 && this.watch === handle) this.options.onUpdate({ kind: 'events', events });
      },
      onConnected: () => undefined,
      onDisconnected: (err) => this.log.debug('history watch disconnected; resuming', { err: describeError(err) }),
      onCancelled: (err) => {
        if (this.watch !== handle || this.abort.signal.aborted) return;
        this.watch = null;
        this.log.warn('history watch ended; listing again', { err: describeError(err) });
        this.relist().catch(() => undefined);
      },
    });
    this.watch = handle;
  }
}
