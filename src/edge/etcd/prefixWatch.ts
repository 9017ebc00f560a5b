import type { Etcd3, Watcher } from 'etcd3';
import { InvalidArgumentError } from '../../core/errors.js';
import type { Logger } from '../../core/log/logger.js';
import type { KvEvent } from '../../core/snapshot/snapshot.js';
import type { WatchHandle, WatchHandlers } from './client.js';
import { mapEtcdError, tooLarge } from './etcdErrors.js';
import { headerRevision, toKv } from './wire.js';

/** The raw prefix watches of one client: each delivers every event once, in order, and all end with the client. */
export class PrefixWatches {
  private readonly watches = new Set<Watcher>();

  constructor(
    private readonly etcd: Etcd3,
    private readonly log: Logger,
  ) {}

  /** A watch of every key under `root` from `fromRevision` (>= 1). */
  open(root: string, fromRevision: number, handlers: WatchHandlers): WatchHandle {
    if (!Number.isSafeInteger(fromRevision) || fromRevision < 1) {
      throw new InvalidArgumentError(`etcd watch of ${root}: start revision ${fromRevision} must be >= 1`);
    }
    const what = `etcd watch of ${root}`;
    /** Everything at or below this revision has been delivered. */
    let delivered = fromRevision - 1;
    let active = true;
    const guard = (handler: string, fn: () => void): void => {
      if (!active) return;
      try {
        fn();
      } catch (err) {
        // A throwing handler must not kill the stream (etcd3 would rethrow it out of the event loop).
        this.log.error('etcd watch handler threw', { handler, root, err });
      }
    };
    // `watcher()` attaches synchronously, so the error listener is in place before any response can arrive.
    const watcher = this.etcd.watch().prefix(root).startRevision(String(fromRevision)).watcher();
    this.watches.add(watcher);
    watcher.on('connected', (res) => guard('onConnected', () => handlers.onConnected({ revision: headerRevision(res.header) })));
    watcher.on('data', (res) => {
      const events: KvEvent[] = [];
      let revision = delivered;
      for (const ev of res.events) {
        const rev = Number(ev.kv.mod_revision);
        revision = Math.max(revision, rev);
        // A replay after a resume can repeat what was delivered: drop it.
        if (rev <= delivered) continue;
        events.push(
          ev.type === 'Put' ? { type: 'put', kv: toKv(ev.kv) } : { type: 'delete', key: ev.kv.key.toString(), modRevision: rev },
        );
      }
      // Only a progress notification (no events) vouches for its header revision: a catching-up batch carries the
      // server's current revision although more events follow.
      if (res.events.length === 0) revision = Math.max(revision, headerRevision(res.header));
      if (revision <= delivered) return;
      delivered = revision;
      guard('onEvents', () => handlers.onEvents(events, revision));
    });
    watcher.on('disconnected', (err) => {
      if (tooLarge(err)) {
        // A response beyond the receive limit would come back on every resume: give this watch up, so the caller
        // lists (in pages that fit) and watches anew after what it listed.
        guard('onCancelled', () => handlers.onCancelled(mapEtcdError(err, `${what}: a response was too large to receive`)));
        active = false;
        void this.cancel(watcher);
        return;
      }
      // etcd3 would resume from the last response header + 1, which can skip events of a catching-up batch;
      // resume from what was actually delivered.
      watcher.request.start_revision = String(delivered + 1);
      guard('onDisconnected', () => handlers.onDisconnected(mapEtcdError(err, what)));
    });
    watcher.on('error', (err) => {
      this.watches.delete(watcher);
      guard('onCancelled', () => handlers.onCancelled(mapEtcdError(err, `${what} cancelled by etcd`)));
      active = false;
    });
    return {
      cancel: async () => {
        if (!active) return;
        active = false;
        await this.cancel(watcher);
      },
    };
  }

  /** Detaches every watch: etcd3 would otherwise keep reconnecting their streams after the client closes. */
  async cancelAll(): Promise<void> {
    await Promise.all([...this.watches].map((w) => this.cancel(w)));
  }

  private async cancel(watcher: Watcher): Promise<void> {
    this.watches.delete(watcher);
    let timer: NodeJS.Timeout | undefined;
    // A connected watcher waits for etcd's cancel confirmation; do not hang on a dead server.
    await Promise.race([
      watcher.cancel().catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000))),
    ]);
    clearTimeout(timer);
  }
}
