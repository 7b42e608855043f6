#!/usr/bin/env node
// Installed entry point: runs the compiled CLI when built, else the TypeScript source through tsx.
const path = require('node:path');
const fs = require('node:fs');
const compiled = path.join(__dirname, '..', 'dist', 'clients', 'cli.js');
let cli;
if (fs.existsSync(compiled)) {
  cli = require(compiled);
} else {
  require('tsx/cjs');
  cli = require('../clients/cli.ts');
}
cli.main(process.argv).then((code) => process.exit(code));
