// Builds the service into an artifact directory with the TypeScript compiler ADOS itself uses (found by walking up
// from here), and writes release.json beside the code. The artifact is what deploy.process deploys: a directory
// whose start command is `node server.js`.
//   node build.mjs [--out dist] [--version 1.0.0] [--unhealthy]
// --unhealthy builds a release whose /health answers 503: the rollback example (examples/rollback-plan.yaml).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: { out: { type: 'string', default: 'dist' }, version: { type: 'string', default: '1.0.0' }, unhealthy: { type: 'boolean', default: false } },
});
const out = resolve(here, values.out);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json'), '--outDir', out], { stdio: 'inherit' });
writeFileSync(join(out, 'release.json'), `${JSON.stringify({ version: values.version, healthy: !values.unhealthy })}\n`);
process.stdout.write(`built ${out}\n`);
