#!/usr/bin/env node
// Thin launcher: the node process lives in the build output (npm run build).
import('../dist/node/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/')) {
    process.stderr.write('goverse-node: build output missing; run `npm run build` first\n');
    process.exit(1);
  }
  throw err;
});
