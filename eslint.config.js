// Flat config: syntax-level TypeScript rules (fast, no type information needed).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers of src/ (docs/ARCHITECTURE.md, "Layers"): each imports itself and the layers listed, nothing above.
// The chain is core <- edge <- cluster <- node | console <- client <- cli; front ends reach etcd through
// edge/operations, not cluster/, and the client speaks HTTP to nodes without importing node/.
const LAYERS = {
  core: [],
  edge: ['core'],
  cluster: ['core', 'edge'],
  node: ['core', 'edge', 'cluster'],
  console: ['core', 'edge'],
  client: ['core', 'edge'],
  cli: ['core', 'edge', 'client', 'console'],
};
// Packages src/core may import: pure code only (no node: module, no I/O).
const CORE_PACKAGES = ['yaml'];
// Folder depth below src/ to generate zones for (src/<layer>/a/b/x.ts is depth 3).
const MAX_DEPTH = 6;

/**
 * One config block per layer and folder depth. no-restricted-imports matches the specifier as written, so a file d
 * folders below src/ reaches another layer with exactly d `../`: the pattern names that layer precisely. A dynamic
 * import() is not seen by that rule, so no-restricted-syntax checks its specifier with the same expressions.
 */
function layerZones() {
  const blocks = [];
  for (const [layer, allowed] of Object.entries(LAYERS)) {
    const open = [layer, ...allowed].join('|');
    const upward = (depth) => `^(\\.\\./){${depth}}(?!(${open})/${layer === 'core' ? '' : '|version\\.js$'})`;
    const message =
      layer === 'core'
        ? 'Layers: src/core is pure and imports only src/core: no node: module, no package but ' +
          `${CORE_PACKAGES.join(', ')} (docs/ARCHITECTURE.md, Layers).`
        : `Layers: src/${layer} imports only ${allowed.map((l) => `src/${l}`).join(', ')}, src/version.ts and ` +
          'itself (docs/ARCHITECTURE.md, Layers).';
    const packages = layer === 'core' ? `^(?![./]|(${CORE_PACKAGES.join('|')})$)` : layer === 'edge' ? null : '^etcd3$';
    const packageMessage =
      layer === 'core' ? message : 'Layers: etcd3 stays behind EtcdClient in src/edge (docs/ARCHITECTURE.md, Layers).';
    for (let depth = 1; depth <= MAX_DEPTH; depth++) {
      const patterns = [{ regex: upward(depth), message }];
      if (packages) patterns.push({ regex: packages, message: packageMessage });
      // esquery regex literals end at the first `/`, so slashes are spelled \x2F there.
      const selector = (regex) => `ImportExpression[source.value=/${regex.replaceAll('/', '\\x2F')}/]`;
      blocks.push({
        files: [`src/${layer}/${'*/'.repeat(depth - 1)}*.{ts,tsx}`],
        rules: {
          'no-restricted-imports': ['error', { patterns }],
          'no-restricted-syntax': [
            'error',
            ...patterns.map((p) => ({ selector: selector(p.regex), message: p.message })),
            {
              selector: "ImportExpression[source.type!='Literal']",
              message: 'import() takes a string literal, so tsc, lint and readers see the dependency.',
            },
          ],
        },
      });
    }
  }
  return blocks;
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Library code writes through the logger or the CLI's output module, never straight to the console.
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    ignores: ['src/cli/output.ts', 'src/core/log/**'],
    rules: { 'no-console': 'error' },
  },
  ...layerZones(),
  {
    // Sizes a reader can take in at once, counted as written (blank lines and comments included).
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    rules: {
      'max-lines': ['error', { max: 450, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: false, skipComments: false, IIFEs: true }],
    },
  },
  {
    files: ['bin/**/*.js', 'scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
