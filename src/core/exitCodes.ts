import { GoverseError } from './errors.js';

/** Exit codes scripts can rely on, for both binaries' scripted commands (docs/CLI.md, "Exit codes"). */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  precondition: 3,
  problemFound: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Bad input is a usage error; a lost CAS or a dead node is a failed precondition; the rest is an error. */
export function exitCodeFor(err: unknown): ExitCode {
  if (!(err instanceof GoverseError)) return ExitCode.error;
  switch (err.code) {
    case 'invalid_argument':
    case 'invalid_object_id':
    case 'config':
      return ExitCode.usage;
    case 'conflict':
    case 'precondition':
      return ExitCode.precondition;
    default:
      return ExitCode.error;
  }
}
