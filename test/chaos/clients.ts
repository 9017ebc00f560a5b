/**
 * The chaos run's load: workers incrementing counters (the built-in write-through `Counter`) through the routing
 * client library (src/client), each increment with a unique request ID that every retry reuses, so the node applies
 * it at most once. Every increment is recorded for the checker: when it was sent, whether and when it was
 * acknowledged with which value, and whether some attempt went unanswered (so it may have been applied without an
 * acknowledgement).
 */
import { GoverseClient, type RoutingSource } from '../../src/client/client.js';
import { CallTimeoutError, NodeUnreachableError, RemoteError } from '../../src/client/errors.js';
import type { IncrementRecord } from './history.js';

export interface ClientOptions {
  readonly routing: RoutingSource;
  readonly workers: number;
  readonly counters: readonly string[];
  /** Pause between one worker's increments, so the load leaves the nodes CPU to handle the faults. */
  readonly paceMs: number;
  /** Deadline of one client call (its own retries included); a timed-out call is sent again, same request ID. */
  readonly callTimeoutMs: number;
  /** An increment not acknowledged by then is given up (recorded as unacknowledged). */
  readonly giveUpMs: number;
  readonly random: () => number;
  /** Answers the API does not allow for a valid call (a 4xx, a reply without a value): reported by the run. */
  readonly onUnexpected: (what: string) => void;
}

/** Failed attempts by kind and the totals, for the run's summary. */
export interface ClientStats {
  acknowledged: number;
  givenUp: number;
  failedAttempts: Record<string, number>;
}

/** One request in flight per worker: the retries the client reports belong to it. */
interface InFlight {
  maybeApplied: boolean;
}

export class IncrementClients {
  readonly records: IncrementRecord[] = [];
  readonly stats: ClientStats = { acknowledged: 0, givenUp: 0, failedAttempts: {} };
  private stopping = false;
  private loops: Promise<void>[] = [];
  private readonly clients: GoverseClient[] = [];

  constructor(private readonly options: ClientOptions) {}

  start(): void {
    this.loops = Array.from({ length: this.options.workers }, (_, w) => this.worker(w));
  }

  /** Stops sending new increments and waits for those in flight (acknowledged or given up). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
    await Promise.all(this.clients.map((c) => c.close()));
  }

  private async worker(w: number): Promise<void> {
    const { counters, random, paceMs } = this.options;
    const current: InFlight = { maybeApplied: false };
    const client = new GoverseClient({
      routing: this.options.routing,
      timeoutMs: this.options.callTimeoutMs,
      onRetry: ({ error }) => {
        this.countFailure(error);
        if (unanswered(error)) current.maybeApplied = true;
      },
    });
    this.clients.push(client);
    for (let seq = 1; !this.stopping; seq++) {
      current.maybeApplied = false;
      await this.increment(client, current, counters[Math.floor(random() * counters.length)]!, `w${w}-${seq}`);
      await sleep(paceMs * (0.5 + random()));
    }
  }

  private async increment(client: GoverseClient, current: InFlight, counter: string, requestId: string): Promise<void> {
    const sentAt = Date.now();
    for (;;) {
      try {
        const result = await client.call('Counter', counter, 'add', { amount: 1, requestId });
        const value = (result as { value?: unknown } | null)?.value;
        if (typeof value !== 'number') this.options.onUnexpected(`${counter} ${requestId}: acknowledged without a value: ${JSON.stringify(result)}`);
        this.records.push({ counter, requestId, sentAt, ackedAt: Date.now(), value: typeof value === 'number' ? value : null, maybeApplied: current.maybeApplied });
        this.stats.acknowledged++;
        return;
      } catch (err) {
        this.countFailure(err);
        // A deadline can pass with the last attempt unanswered: it may have been applied.
        if (err instanceof CallTimeoutError || unanswered(err)) current.maybeApplied = true;
        else if (err instanceof RemoteError) this.options.onUnexpected(`${counter} ${requestId}: ${err.message}`);
      }
      if (Date.now() - sentAt >= this.options.giveUpMs) {
        this.records.push({ counter, requestId, sentAt, ackedAt: null, value: null, maybeApplied: current.maybeApplied });
        this.stats.givenUp++;
        return;
      }
      await sleep(20 + this.options.random() * 100);
    }
  }

  private countFailure(err: unknown): void {
    const key =
      err instanceof RemoteError
        ? `${err.status} ${err.code}`
        : err instanceof NodeUnreachableError
          ? `unreachable ${err.socketCode ?? '?'}`
          : err instanceof Error
            ? err.name
            : 'unknown';
    this.stats.failedAttempts[key] = (this.stats.failedAttempts[key] ?? 0) + 1;
  }
}

/** The request may have reached the node and run there: every socket failure but a refused connection. */
function unanswered(err: unknown): boolean {
  return err instanceof NodeUnreachableError && err.socketCode !== 'ECONNREFUSED';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
