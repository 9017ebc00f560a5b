#!/usr/bin/env node
// Thin launcher: the CLI lives in the build output (npm run build).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/')) {
    process.stderr.write('goverse-top: build output missing; run `npm run build` first\n');
    process.exit(1);
  }
  throw err;
});
