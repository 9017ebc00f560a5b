/**
 * The terminal while the console owns it: the alternate screen (the shell's scrollback is left as it was), a hidden
 * cursor, and every stray write that would tear the frame (console.*, process warnings, library writes to stderr)
 * sent to the log instead. Restored on exit, whatever the exit path.
 */
/* eslint-disable no-console -- this module replaces the console methods (it never prints) and restores them. */
import type { Logger } from '../core/log/logger.js';

const ENTER_ALT = '\u001b[?1049h\u001b[H';
const LEAVE_ALT = '\u001b[?1049l';
const SHOW_CURSOR = '\u001b[?25h';

export interface TerminalSession {
  /** Leaves the alternate screen and restores the console and stderr; safe to call twice. */
  restore(): void;
}

export function enterTerminal(stdout: NodeJS.WriteStream, logger: Logger): TerminalSession {
  stdout.write(ENTER_ALT);
  const saved = {
    log: console.log,
    info: console.info,
    warn: console.warn,
    error: console.error,
    debug: console.debug,
    stderrWrite: process.stderr.write,
  };
  const toLog =
    (level: 'info' | 'warn' | 'error') =>
    (...args: unknown[]): void =>
      logger[level]('console output captured while the screen is in use', { text: args.map((a) => (typeof a === 'string' ? a : String(a))).join(' ') });
  console.log = toLog('info');
  console.info = toLog('info');
  console.debug = toLog('info');
  console.warn = toLog('warn');
  console.error = toLog('error');
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    logger.warn('stderr output captured while the screen is in use', { text: String(chunk) });
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stderr.write;

  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    Object.assign(console, { log: saved.log, info: saved.info, warn: saved.warn, error: saved.error, debug: saved.debug });
    process.stderr.write = saved.stderrWrite;
    process.off('exit', restore);
    stdout.write(SHOW_CURSOR + LEAVE_ALT);
  };
  // A crash or process.exit elsewhere must not leave the operator's terminal on the alternate screen.
  process.on('exit', restore);
  return { restore };
}

/** OSC 52: sets the terminal's clipboard; works over ssh and inside tmux (with set-clipboard on). */
export function copyToClipboard(stdout: NodeJS.WriteStream, text: string): void {
  stdout.write(`\u001b]52;c;${Buffer.from(text, 'utf8').toString('base64')}\u0007`);
}
