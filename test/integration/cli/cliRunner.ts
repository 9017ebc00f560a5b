/**
 * Runs the built goverse-top as a process, as scripts do, and collects stdout, stderr and the exit code.
 * Processes go through the harness registry (nothing outlives the run) unless they need a stdin.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnManaged } from '../../harness/processes.js';
import { waitFor } from '../../harness/waitFor.js';

export const CLI_BIN = fileURLToPath(new URL('../../../bin/goverse-top.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** The environment without the developer's own GOVERSE_* settings, plus `env`. */
export function cliEnv(env: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GOVERSE_') && k !== 'NO_COLOR') out[k] = v;
  return { ...out, ...env };
}

export async function runCli(args: readonly string[], env: Readonly<Record<string, string>> = {}, timeoutMs = 60_000): Promise<CliResult> {
  const started = performance.now();
  const proc = spawnManaged(`goverse-top ${args[0] ?? ''}`, process.execPath, [CLI_BIN, ...args], { env: cliEnv(env) });
  let stdout = '';
  let stderr = '';
  proc.child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => void proc.kill(), timeoutMs);
  const exit = await proc.exited;
  clearTimeout(timer);
  return { code: exit.code, stdout, stderr, ms: performance.now() - started };
}

/** Parses stdout as one JSON document and checks the contract version. */
export function json<T = Record<string, unknown>>(r: CliResult): T {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  if (doc.schemaVersion !== 1) throw new Error(`schemaVersion is ${String(doc.schemaVersion)}`);
  return doc as T;
}

/** A CLI process that waits on its stdin (`--confirm`): the test acts between the prompt and the answer. */
export class InteractiveCli {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: readonly string[], env: Readonly<Record<string, string>> = {}) {
    // stdin must be a pipe: the harness registry spawns without one. The CLI exits at end of input, so it cannot
    // outlive this worker.
    this.child = spawn(process.execPath, [CLI_BIN, ...args], { env: cliEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (c: Buffer) => (this.stdout += c.toString()));
    this.child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Waits until the CLI shows its plan and asks. */
  async prompted(): Promise<void> {
    await waitFor('the confirmation prompt', () => this.stderr.includes('? [y/N]'), { timeoutMs: 30_000, describe: () => this.stderr });
  }

  async answer(text: string): Promise<CliResult & { code: number | null }> {
    const started = performance.now();
    this.child.stdin.end(`${text}\n`);
    const code = await this.exited;
    return { code, stdout: this.stdout, stderr: this.stderr, ms: performance.now() - started };
  }
}
