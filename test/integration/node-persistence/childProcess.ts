import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A fixture script run as a real child process (through tsx), with its stdout readable line by line. */
export interface Fixture {
  readonly child: ChildProcess;
  /** Resolves with the first stdout line (past or future) matching `pattern`; rejects on exit or after `timeoutMs`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  readonly stderr: () => string;
}

export function startFixture(name: string, args: string[]): Fixture {
  const script = fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  let err = '';
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
    for (const l of listeners) l();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
      for (const l of listeners) l();
    }),
  );
  return {
    child,
    exited,
    stderr: () => err,
    line: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
        const check = (): void => {
          const found = lines.find((l) => pattern.test(l));
          if (found !== undefined) done(null, found);
          else if (child.exitCode !== null || child.signalCode !== null) {
            done(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}: ${err}`));
          }
        };
        const done = (error: Error | null, line?: string): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve(line!);
        };
        listeners.add(check);
        check();
      }),
  };
}
