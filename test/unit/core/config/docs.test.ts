import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigurationDoc, renderSettingsSummary, withSettingsSummary } from '../../../../src/core/config/docs.js';
import { SETTING_NAMES, SETTINGS } from '../../../../src/core/config/settings.js';

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

  it('is checked in up to date (`npm run docs` regenerates it)', async () => {
    await expect(doc).toMatchFileSnapshot('../../../../docs/CONFIGURATION.md');
  });
});

describe("README.md's settings table", () => {
  it('has a row for every environment variable', () => {
    const table = renderSettingsSummary();
    for (const name of SETTING_NAMES) {
      const env = SETTINGS[name].env;
      if (env !== undefined) expect(table).toContain(`\`${env}\``);
    }
  });

  it('is checked in up to date (`npm run docs` regenerates it)', () => {
    const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
    expect(withSettingsSummary(readme) === readme, 'README.md settings table is stale: run `npm run docs`').toBe(true);
  });
});
