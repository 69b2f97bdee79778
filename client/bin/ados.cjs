#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), so that there is no build step between a change and its use.
require('tsx/cjs/api').register();
require('../cli.ts').runCli(process.argv.slice(2));
