import { PreconditionError } from '../errors.js';
import type { OperationName, OperationPlan } from './operations.js';

/** One change an operation made (or would make): the contract of every mutation's JSON output. */
export interface ChangeResult {
  /** Shard ID, or what a record is about (node address, `rebalance-pause`). */
  readonly id: number | string;
  readonly key: string;
  readonly old: string | null;
  readonly new: string | null;
  /** The ModRevision compared against (0 = the key had to be absent). */
  readonly modRevision: number;
  readonly written: boolean;
  readonly outcome: 'written' | 'dry-run' | 'conflict' | 'failed';
  /** On a conflict: the value found instead (null = absent). */
  readonly found?: string | null;
  readonly error?: string;
}

/** An executed (or dry-run) plan: what the CLI prints, the admin API answers and the console's status line reports. */
export interface OperationResult {
  readonly operation: OperationName;
  readonly summary: string;
  readonly dryRun: boolean;
  readonly changes: readonly ChangeResult[];
  readonly skipped: OperationPlan['skipped'];
  readonly conflicts: number;
  readonly failed: number;
}

/** The operator refused a write path (`--read-only`). */
export class ReadOnlyError extends PreconditionError {
  constructor(operation: OperationName) {
    super(`${operation} refused: read-only mode`);
  }
}
