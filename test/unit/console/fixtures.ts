/** Test fixtures for the console: snapshots built from etcd-like key-values, and a controller wired to fakes. */
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import type { OperationResult } from '../../../src/cluster/operations.js';
import type { Clock } from '../../../src/core/clock.js';
import { nullLogger } from '../../../src/core/log/logger.js';
import type { OperationPlan } from '../../../src/core/operations/operations.js';
import { defaultPlannerSettings } from '../../../src/core/planner/settings.js';
import { buildSnapshot, type ClusterSnapshot, type Kv } from '../../../src/core/snapshot/snapshot.js';
import { ConsoleController, type WriteExecutor } from '../../../src/console/controller.js';
import type { FrameTimer } from '../../../src/console/frameScheduler.js';
import { createTheme } from '../../../src/console/theme.js';
import { App } from '../../../src/console/ui/App.js';

export const P = '/gv';
export const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

let rev = 1;
export const kv = (key: string, value: string, lease = '0'): Kv => ({ key, value, modRevision: rev, createRevision: rev++, lease });

export interface ClusterSpec {
  readonly nodes: readonly string[];
  readonly numShards: number;
  /** Shard values by ID; default: round-robin stable over the nodes. */
  readonly shards?: Readonly<Record<number, string>>;
  readonly leader?: string;
  readonly extra?: readonly Kv[];
}

export function snapshotOf(spec: ClusterSpec): ClusterSnapshot {
  const kvs: Kv[] = spec.nodes.map((n) => kv(`${P}/nodes/${n}`, n, '1'));
  for (let id = 0; id < spec.numShards; id++) {
    const n = spec.nodes[id % spec.nodes.length]!;
    kvs.push(kv(`${P}/shard/${id}`, spec.shards?.[id] ?? `${n},${n}`));
  }
  if (spec.leader !== undefined) kvs.push(kv(`${P}/leader`, spec.leader));
  kvs.push(...(spec.extra ?? []));
  return buildSnapshot(P, spec.numShards, kvs, rev++);
}

/** Runs frames on the next turn of the event loop: tests wait for conditions, not for the frame interval. */
export const immediateTimer: FrameTimer = {
  now: () => performance.now(),
  set: (fn) => setImmediate(fn),
  clear: (h) => clearImmediate(h as NodeJS.Immediate),
};

export const fixedClock = (now = NOW): Clock => ({ now: () => now, monotonic: () => 0 });

/** Records the plans it is asked to execute and reports every change as written. */
export class RecordingWriter implements WriteExecutor {
  readonly plans: OperationPlan[] = [];
  constructor(private readonly fail?: Error) {}
  async execute(plan: OperationPlan): Promise<OperationResult> {
    this.plans.push(plan);
    if (this.fail !== undefined) throw this.fail;
    const changes = [
      ...plan.shardChanges.map((c) => ({ id: c.shardId, key: c.key, old: c.old, new: c.new, modRevision: c.expectedModRevision })),
      ...plan.recordChanges.map((c) => ({ id: c.id, key: c.key, old: c.old, new: c.new, modRevision: c.expectedModRevision })),
    ].map((c) => ({ ...c, written: true, outcome: 'written' as const }));
    return { operation: plan.operation, summary: plan.summary, dryRun: false, changes, skipped: plan.skipped, conflicts: 0, failed: 0 };
  }
}

export interface Harness {
  readonly controller: ConsoleController;
  readonly writer: RecordingWriter;
  readonly quits: number[];
  readonly copies: string[];
  lastFrame(): string;
  /** Types keys one at a time, with the ticks ink-testing-library needs around each write. */
  press(...keys: string[]): Promise<void>;
  unmount(): void;
}

export const KEYS: Readonly<Record<string, string>> = {
  up: '\u001b[A',
  down: '\u001b[B',
  right: '\u001b[C',
  left: '\u001b[D',
  return: '\r',
  escape: '\u001b',
  tab: '\t',
  'shift-tab': '\u001b[Z',
  backspace: '\u007f',
  'ctrl-c': '\u0003',
};

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function mount(
  snapshot: ClusterSnapshot,
  options: { readOnly?: boolean; cols?: number; rows?: number; writer?: RecordingWriter; color?: boolean } = {},
): Promise<Harness> {
  const writer = options.writer ?? new RecordingWriter();
  const quits: number[] = [];
  const copies: string[] = [];
  const controller = new ConsoleController({
    snapshot,
    endpoints: ['127.0.0.1:2379'],
    stuckTimeoutMs: 60_000,
    balancer: { strategy: 'count', settings: defaultPlannerSettings(snapshot.numShards) },
    theme: createTheme(options.color ?? false),
    clock: fixedClock(),
    writer: options.readOnly ? null : writer,
    readOnlyReason: options.readOnly ? '--read-only' : null,
    by: 'tester@host',
    size: { cols: options.cols ?? 100, rows: options.rows ?? 24 },
    maxFps: 1000,
    onQuit: () => quits.push(1),
    onCopy: (t) => copies.push(t),
    logger: nullLogger,
    timer: immediateTimer,
  });
  controller.onWatcherEvent({ type: 'status', status: { kind: 'synced', revision: snapshot.revision, since: NOW } });
  const r = render(createElement(App, { controller }));
  await tick();
  await tick();
  return {
    controller,
    writer,
    quits,
    copies,
    lastFrame: () => stripAnsi(r.lastFrame() ?? ''),
    async press(...keys: string[]) {
      for (const k of keys) {
        await tick();
        r.stdin.write(KEYS[k] ?? k);
        await tick();
        await tick();
      }
    },
    unmount: () => {
      controller.stop();
      r.unmount();
    },
  };
}

/** Text without SGR escape codes (colours and attributes). */
export function stripAnsi(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\u001b' && s[i + 1] === '[') {
      let j = i + 2;
      while (j < s.length && /[0-9;]/.test(s[j]!)) j++;
      if (s[j] === 'm') {
        i = j;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}
