/** The exit codes live in core: goverse-node's scripted `db` commands use them too. */
export { ExitCode, exitCodeFor } from '../core/exitCodes.js';
