/**
 * The `:` command palette, pure: parses a command line into what the console should do. Views (`:nodes`), quitting,
 * jumping to a shard, the map mode, and every write action by name, so each write key has a typed twin that takes
 * explicit shard lists and node names.
 */
import { parseDuration } from '../../core/duration.js';
import type { OperationRequest } from '../../core/operations/operations.js';
import { parseShardList } from '../../core/operations/shardList.js';
import { PANES, type PaneId } from '../keys.js';
import { MAP_MODES, type MapMode } from './shardGrid.js';

export type PaletteCommand =
  | { readonly kind: 'pane'; readonly pane: PaneId }
  | { readonly kind: 'quit' }
  | { readonly kind: 'jump'; readonly shard: number }
  | { readonly kind: 'mode'; readonly mode: MapMode }
  /** A write the console plans with `planOperation`, confirms, then executes. */
  | { readonly kind: 'write'; readonly request: OperationRequest }
  | { readonly kind: 'error'; readonly message: string };

/** Default length of a pause from the `P` key or `:pause` without a duration. */
export const DEFAULT_PAUSE_MS = 10 * 60_000;

/** What a pause from the console records as its reason. */
export const PAUSE_REASON = 'paused from goverse-top';

export interface PaletteEntry {
  readonly name: string;
  readonly usage: string;
  readonly description: string;
  readonly write?: true;
}

export const PALETTE: readonly PaletteEntry[] = [
  ...PANES.map((p) => ({ name: p, usage: `:${p}`, description: `show the ${p === 'shards' ? 'shard map' : p} pane` })),
  { name: 'q', usage: ':q', description: 'quit' },
  { name: 'shard', usage: ':shard <id>', description: 'move the shard map cursor to a shard' },
  { name: 'map', usage: ':map owner|objects|calls', description: 'shard map colouring' },
  { name: 'pin', usage: ':pin <shards>', description: 'pin shards (5, 1,5,10-20)', write: true },
  { name: 'unpin', usage: ':unpin <shards>', description: 'unpin shards', write: true },
  { name: 'reassign', usage: ':reassign <shards> [node]', description: 'retarget shards to a node, or the best ones', write: true },
  { name: 'release', usage: ':release <shards>', description: 'release shards from their owner', write: true },
  { name: 'drain', usage: ':drain <node>', description: 'drain a node (no targets; its shards move)', write: true },
  { name: 'undrain', usage: ':undrain <node>', description: 'undo a drain', write: true },
  { name: 'pause', usage: ':pause [duration]', description: 'pause rebalancing (default 10m; it expires by itself)', write: true },
  { name: 'resume', usage: ':resume', description: 'resume rebalancing', write: true },
];

const ALIASES: Readonly<Record<string, string>> = { quit: 'q', node: 'nodes', lock: 'locks' };

/** Completes the command word: the only palette entry starting with it, else the text unchanged. */
export function completeCommand(text: string, readOnly: boolean): string {
  if (text.includes(' ')) return text;
  const found = PALETTE.filter((e) => e.name.startsWith(text) && !(readOnly && e.write));
  return found.length === 1 ? `${found[0]!.name} ` : text;
}

export function parseCommand(text: string, numShards: number, readOnly: boolean): PaletteCommand {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  const [word = '', ...args] = words;
  const name = ALIASES[word] ?? word;
  const entry = PALETTE.find((e) => e.name === name);
  if (entry === undefined) return { kind: 'error', message: `unknown command :${word}; press ? for help` };
  if (entry.write && readOnly) return { kind: 'error', message: `:${name} refused: read-only mode` };
  try {
    if ((PANES as readonly string[]).includes(name)) return { kind: 'pane', pane: name as PaneId };
    switch (name) {
      case 'q':
        return { kind: 'quit' };
      case 'shard':
        return { kind: 'jump', shard: single(parseShardList(need(args[0], entry), numShards), entry) };
      case 'map': {
        const mode = MAP_MODES.find((m) => m === args[0]);
        return mode === undefined ? usage(entry) : { kind: 'mode', mode };
      }
      case 'pin':
      case 'unpin':
        return { kind: 'write', request: { kind: name, shards: parseShardList(need(args[0], entry), numShards) } };
      // The console has no force: a refusal names the CLI command that forces.
      case 'release':
        return { kind: 'write', request: { kind: 'release', shards: parseShardList(need(args[0], entry), numShards), refusals: 'refuse' } };
      case 'reassign':
        return {
          kind: 'write',
          request: { kind: 'retarget', shards: parseShardList(need(args[0], entry), numShards), to: args[1] ?? null, refusals: 'refuse' },
        };
      case 'drain':
      case 'undrain':
        return { kind: 'write', request: { kind: name, node: need(args[0], entry) } };
      case 'pause':
        return { kind: 'write', request: pauseRequest(args[0] === undefined ? DEFAULT_PAUSE_MS : parseDuration(args[0])) };
      case 'resume':
        return { kind: 'write', request: { kind: 'resume' } };
    }
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
  return usage(entry);
}

/** A pause of rebalancing from the console (the `P` key, `:pause`). */
export function pauseRequest(forMs: number): OperationRequest {
  return { kind: 'pause', forMs, reason: PAUSE_REASON };
}

class UsageError extends Error {}

function need(arg: string | undefined, entry: PaletteEntry): string {
  if (arg === undefined) throw new UsageError(`usage: ${entry.usage}`);
  return arg;
}

function single(ids: readonly number[], entry: PaletteEntry): number {
  if (ids.length !== 1) throw new UsageError(`usage: ${entry.usage}`);
  return ids[0]!;
}

function usage(entry: PaletteEntry): PaletteCommand {
  return { kind: 'error', message: `usage: ${entry.usage}` };
}
