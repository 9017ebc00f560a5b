/**
 * Screen layout, pure: how many lines each part gets. The frame is always one line shorter than the terminal (a
 * frame as tall as the screen makes Ink clear the whole screen on every update and flicker). A tall terminal shows a
 * second pane under the focused one, so the map and the node table can be watched together.
 */
import type { PaneId } from '../keys.js';

export const HEADER_LINES = 3;
/** Tab bar, status line, key hints, and the spare line that keeps the frame shorter than the terminal. */
const CHROME_LINES = 4;
export const MIN_COLS = 40;
export const MIN_ROWS = HEADER_LINES + CHROME_LINES + 5;
/** Body height from which a companion pane is shown. */
const SPLIT_FROM = 34;

export interface PaneSlot {
  readonly pane: PaneId;
  /** Lines, title line included. */
  readonly height: number;
  readonly focused: boolean;
}

export type Layout =
  | { readonly kind: 'too-small'; readonly cols: number; readonly rows: number }
  | {
      readonly kind: 'normal';
      readonly cols: number;
      /** Lines the frame uses in all: rows - 1. */
      readonly height: number;
      /** Lines between the tab bar and the status line. */
      readonly body: number;
      readonly slots: readonly PaneSlot[];
    };

/** The pane shown with `focus` on a tall terminal. */
export function companionOf(focus: PaneId): PaneId {
  return focus === 'shards' ? 'nodes' : 'shards';
}

export function computeLayout(cols: number, rows: number, focus: PaneId): Layout {
  if (cols < MIN_COLS || rows < MIN_ROWS) return { kind: 'too-small', cols, rows };
  const height = rows - 1;
  const body = height - HEADER_LINES - (CHROME_LINES - 1);
  if (body < SPLIT_FROM) return { kind: 'normal', cols, height, body, slots: [{ pane: focus, height: body, focused: true }] };
  const focusedHeight = Math.ceil(body * 0.6);
  const focused: PaneSlot = { pane: focus, height: focusedHeight, focused: true };
  const companion: PaneSlot = { pane: companionOf(focus), height: body - focusedHeight, focused: false };
  // The shard map stays on top whichever pane has the focus, so panes do not jump around when tabbing.
  return { kind: 'normal', cols, height, body, slots: companion.pane === 'shards' ? [companion, focused] : [focused, companion] };
}
