/**
 * A real terminal for end-to-end tests: a private tmux server (its own socket, no user config) run in the
 * foreground under the harness's process registry, so it never outlives the run. Programs run in a session of a fixed
 * size; tests type with `send-keys` and read the screen with `capture-pane`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type ManagedProcess, spawnManaged } from '../harness/processes.js';
import { waitFor } from '../harness/waitFor.js';

const run = promisify(execFile);

export const TMUX_BIN = process.env.GOVERSE_TMUX_BIN ?? '/usr/bin/tmux';

export class TmuxTerminal {
  private constructor(
    private readonly socket: string,
    private readonly server: ManagedProcess,
  ) {}

  static async start(label: string): Promise<TmuxTerminal> {
    const socket = `goverse-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const server = spawnManaged(`tmux ${socket}`, TMUX_BIN, ['-L', socket, '-f', '/dev/null', '-D']);
    const t = new TmuxTerminal(socket, server);
    await waitFor(`tmux server ${socket}`, async () => {
      if (!server.running) throw new Error(`tmux exited: ${server.output()}`);
      await t.tmux('list-sessions');
      return true;
    }, { timeoutMs: 10_000, intervalMs: 50 });
    // A program that exits leaves its pane, so a failure stays readable.
    await t.tmux('set-option', '-g', 'remain-on-exit', 'on');
    return t;
  }

  /** Runs `command` (a shell command line) in a new session of `cols` x `rows`. */
  async open(session: string, command: string, cols: number, rows: number): Promise<void> {
    await this.tmux('new-session', '-d', '-s', session, '-x', String(cols), '-y', String(rows), command);
  }

  /** The visible screen of the session, as text. */
  async screen(session: string): Promise<string> {
    return (await this.tmux('capture-pane', '-p', '-t', session)).stdout;
  }

  /** Waits until the session's screen holds `text` (or matches it) and returns the screen. */
  async shows(session: string, text: string | RegExp, timeoutMs = 20_000): Promise<string> {
    let last = '';
    return waitFor(
      `the console to show ${String(text)}`,
      async () => {
        last = await this.screen(session);
        return (typeof text === 'string' ? last.includes(text) : text.test(last)) ? last : null;
      },
      { timeoutMs, intervalMs: 100, describe: () => `screen:\n${last}` },
    );
  }

  /** Key names as tmux knows them (`Enter`, `Escape`, `Tab`, `Down`), or literal text with `literal`. */
  async keys(session: string, keys: readonly string[], literal = false): Promise<void> {
    await this.tmux('send-keys', '-t', session, ...(literal ? ['-l'] : []), ...keys);
  }

  /** The process ID of the program running in the session (started with `exec`, it is the pane's process). */
  async pid(session: string): Promise<number> {
    return Number((await this.tmux('display-message', '-p', '-t', session, '#{pane_pid}')).stdout.trim());
  }

  async close(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
    await this.server.stop('SIGTERM', 5000);
  }

  private tmux(...args: string[]): Promise<{ stdout: string }> {
    return run(TMUX_BIN, ['-L', this.socket, ...args], { timeout: 10_000 });
  }
}
