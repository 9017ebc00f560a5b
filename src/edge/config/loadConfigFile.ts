import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../core/errors.js';
import type { ConfigFileText } from '../../core/config/yamlFile.js';

/** The loader's only I/O: the rest of the config package is pure, so that tests need no files. */
export async function loadConfigFile(path: string): Promise<ConfigFileText> {
  try {
    return { path, text: await readFile(path, 'utf8') };
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError(path, `cannot read the config file: ${reason}`, { cause: err });
  }
}
