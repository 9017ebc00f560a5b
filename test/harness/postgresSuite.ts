import { describe } from 'vitest';
import { postgresUnavailable } from './postgres.js';

/**
 * `describe` for a suite on a real PostgreSQL; where there is none, the suite is skipped with the reason in its name
 * (vitest runs no hooks of a file whose tests are all skipped). Apart from postgres.ts, which runs outside vitest too
 * (the bench, the chaos runner).
 */
export function describeWithPostgres(name: string, fn: () => void): void {
  const reason = postgresUnavailable();
  if (reason === null) describe(name, fn);
  else describe.skip(`${name} (skipped: PostgreSQL unavailable: ${reason})`, fn);
}
