import { describe, expect, it } from 'vitest';
import { renderConfigurationDoc } from '../../../src/core/config/docs.js';
import { SETTING_NAMES, SETTINGS } from '../../../src/core/config/settings.js';

describe('docs/CONFIGURATION.md', () => {
  const doc = renderConfigurationDoc();

  it('lists every setting with its environment variable, YAML key and flag', () => {
    for (const name of SETTING_NAMES) {
      const spec = SETTINGS[name];
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      for (const part of [spec.env, spec.flag]) if (part !== undefined) expect(row).toContain(part);
    }
  });

  it('is checked in up to date (`npx vitest run -u test/unit/config` regenerates it)', async () => {
    await expect(doc).toMatchFileSnapshot('../../../docs/CONFIGURATION.md');
  });
});
