/** `npm run docs`: rewrites the generated documentation (docs/CONFIGURATION.md, the README's settings table). */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigurationDoc, withSettingsSummary } from '../src/core/config/docs.js';

const root = new URL('../', import.meta.url);
writeFileSync(new URL('docs/CONFIGURATION.md', root), renderConfigurationDoc());
const readme = new URL('README.md', root);
writeFileSync(readme, withSettingsSummary(readFileSync(readme, 'utf8')));
