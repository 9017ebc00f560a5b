import { open, stat } from 'node:fs/promises';
import type { GoverseConfig } from '../../core/config/settings.js';
import { ConfigError } from '../../core/errors.js';

/** A password is short; a larger file is the wrong file (a certificate, a log), not a password. */
const MAX_PASSWORD_BYTES = 4096;

/**
 * The configuration with the passwords read from their files: etcd's from `--password-file`
 * (GOVERSE_ETCD_PASSWORD_FILE), PostgreSQL's from `--postgres-password-file` (GOVERSE_POSTGRES_PASSWORD_FILE), as
 * secrets mounted by an orchestrator or written by a deploy script are: one trailing newline (LF or CRLF) is not part
 * of it. A file that cannot be read, is not a regular file, is empty or is larger than 4 KiB is a ConfigError naming
 * it.
 */
export async function withPasswordFile(config: GoverseConfig): Promise<GoverseConfig> {
  let out = config;
  if (config.etcdPasswordFile !== '') out = { ...out, etcdPassword: await readPasswordFile(config.etcdPasswordFile, 'etcd') };
  if (config.postgresPasswordFile !== '') out = { ...out, postgresPassword: await readPasswordFile(config.postgresPasswordFile, 'PostgreSQL') };
  return out;
}

async function readPasswordFile(path: string, what: string): Promise<string> {
  const fail = (reason: string, cause?: unknown): never => {
    throw new ConfigError(`${what} password file ${path}`, reason, cause === undefined ? {} : { cause });
  };
  let bytes: Buffer;
  try {
    // Checked before opening: opening a FIFO would wait for a writer.
    if (!(await stat(path)).isFile()) return fail('is not a regular file');
    const file = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(MAX_PASSWORD_BYTES + 1);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      if (bytesRead > MAX_PASSWORD_BYTES) return fail(`is larger than ${MAX_PASSWORD_BYTES} bytes: not a password`);
      bytes = buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    return fail(code === 'ENOENT' ? 'no such file' : `cannot be read: ${(err as Error).message}`, err);
  }
  const password = bytes.toString('utf8').replace(/\r?\n$/, '');
  if (password === '') return fail('is empty');
  return password;
}
