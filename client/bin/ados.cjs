#!/usr/bin/env node
// The `ados` command. `ados worker …` is the worker process (workers/main.ts), run here in this same process so that
// a signal to `ados worker` reaches the worker itself; every other command is the client CLI (client/cli.ts).
// Dispatching here keeps client/ and workers/ apart: neither imports the other.
// TypeScript runs directly (tsx), so that there is no build step between a change and its use.
require('tsx/cjs/api').register();
const args = process.argv.slice(2);
const helpForWorker = args[0] === 'help' && args[1] === 'worker';
if (args[0] === 'worker' || helpForWorker) require('../../workers/main.ts').runWorker(helpForWorker ? ['--help'] : args.slice(1));
else require('../cli.ts').runCli(args);
