import type { GoverseConfig } from '../core/config/settings.js';
import type { Logger } from '../core/log/logger.js';

/**
 * The contract between the CLI and the interactive console (src/console/main.ts): that module exports
 * `runConsole(launch)`, which owns the terminal until the operator quits and resolves with the exit code.
 */
export interface ConsoleLaunch {
  /** Resolved settings: etcd connection, prefix, shards, refresh, stuck timeout, read-only, colour, metrics URLs. */
  readonly config: GoverseConfig;
  /** Goes to --log-file (or nowhere): never to the terminal the console draws on. */
  readonly logger: Logger;
  /** `user@host`, recorded by drain and pause. */
  readonly actor: string;
}

export interface ConsoleModule {
  runConsole(launch: ConsoleLaunch): Promise<number>;
}

/**
 * Loads the console when it is built; null until then (the CLI falls back to `watch`). The specifier is computed,
 * so the CLI compiles whether or not the console exists yet.
 */
export async function loadConsole(): Promise<ConsoleModule | null> {
  const url = new URL('../console/main.js', import.meta.url);
  let mod: Partial<ConsoleModule>;
  try {
    mod = (await import(url.href)) as Partial<ConsoleModule>;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes(url.pathname)) return null;
    throw err;
  }
  return typeof mod.runConsole === 'function' ? (mod as ConsoleModule) : null;
}
