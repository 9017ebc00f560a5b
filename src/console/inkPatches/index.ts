/**
 * Everything the console does to Ink and its runtime beyond Ink's public API, in one place. The console draws at
 * most 20 frames a second of pre-cut, pre-styled lines (ui/Screen.tsx); stock Ink spends most of such a frame
 * re-tokenizing those lines into styled cells, which these patches skip (frame p99 under 16 ms at 8192 shards,
 * `npm run bench -- console-render`). Only the console (and its benchmark) installs them; scripted subcommands and
 * tests render stock Ink unless they install them.
 *
 * What is patched, for Ink 6 (INK_MAJOR; its internal Output class, ink/build/output.js):
 *   1. Ink's output pass: `Output.prototype.get` joins the lines of each row (outputPass.ts `composeOutput`) instead
 *      of building a grid of styled cells. Falls back, per frame, to Ink's own pass for anything else (a clip, an
 *      overlap, a write right of the output); on another Ink major it is not installed at all.
 *   2. Grapheme segmentation: the global `Intl.Segmenter` becomes a subclass (graphemes.ts) that answers strings of
 *      code units Unicode never joins to a neighbour (the console's alphabet) itself; any other string, and any other
 *      granularity, goes to the real segmenter. Libraries make their segmenter when they load, so this is installed
 *      before Ink is imported.
 *   3. The environment Ink and React read when they load (`prepareInkEnvironment`): CI and CONTINUOUS_INTEGRATION are
 *      dropped (in CI Ink renders only the last frame, a blank screen for an operator; the console runs only on a
 *      terminal and starts no child process that could miss them), and NODE_ENV defaults to production (React's
 *      development build is several times slower per commit).
 *   4. Garbage collection (heapGuard.ts): V8's `gc` is exposed at run time and called when the heap has grown by a
 *      fixed slack, which bounds the resident memory of a console left open through an etcd storm. A runtime that
 *      refuses the flag keeps V8's own sizing.
 * Equivalence: patched and stock rendering show the same cells on every pane, dialog and prompt
 * (test/unit/console/inkPatches/inkPatches.test.tsx); only the escape codes may be spelled differently.
 */
import type { render } from 'ink';
import type { createElement } from 'react';
import { installGraphemeFastPath, removeGraphemeFastPath } from './graphemes.js';
import { installOutputFastPath, removeOutputFastPath } from './outputPass.js';

export { HeapGuard } from './heapGuard.js';
export { INK_MAJOR } from './outputPass.js';

/** Which patches are in place. */
export interface InkPatches {
  /** Ink's output pass goes through the fast path (false on another Ink major: Ink's own pass). */
  readonly output: boolean;
  /** Puts Ink's output pass and `Intl.Segmenter` back, turning the fast paths off (tests render both ways). */
  remove(): Promise<void>;
}

/** Installs the output and grapheme fast paths (1 and 2); idempotent. Before Ink is first imported. */
export async function installInkPatches(): Promise<InkPatches> {
  installGraphemeFastPath();
  const output = await installOutputFastPath();
  return {
    output,
    remove: async () => {
      removeGraphemeFastPath();
      await removeOutputFastPath();
    },
  };
}

/** The environment Ink and React read when they load (3). Before Ink and React are first imported. */
export function prepareInkEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  delete env.CI;
  delete env.CONTINUOUS_INTEGRATION;
  env.NODE_ENV ??= 'production';
}

/** Ink and React for a live terminal: the environment prepared and the fast paths installed before they load. */
export async function loadInk(): Promise<{ render: typeof render; createElement: typeof createElement }> {
  prepareInkEnvironment();
  installGraphemeFastPath();
  const [ink, react] = await Promise.all([import('ink'), import('react'), installOutputFastPath()]);
  return { render: ink.render, createElement: react.createElement };
}
