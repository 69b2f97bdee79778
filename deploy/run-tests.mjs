#!/usr/bin/env node
/**
 * The jest part of `npm test`: the whole suite in band, with the files that spend minutes waiting on the wall clock
 * (test/wall-clock-suites.json: a 5-minute real-time crash run, real failover timeouts) in a second in-band
 * jest beside it. They use little CPU while they wait, so running them alongside keeps the suite's wall time down
 * without putting two CPU-heavy files side by side. Each file still gets its own servers (free ports, its own
 * directories), so the two parts share nothing.
 *
 * With arguments (`npm test -- test/unit`), it is plain `jest --runInBand <arguments>`.
 * The second part's output goes to `.ados/test-wall-clock.log` and is printed whole when it ends, so neither part's
 * lines interleave with the other's. The exit code is the first non-zero one of the two.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const jestBin = require.resolve('jest/bin/jest');
const WALL_CLOCK_SUITES = require(path.join(root, 'test', 'wall-clock-suites.json'));

/** Runs jest with `args`; `logFile` collects its output instead of the terminal. Resolves to its exit code. */
function jest(args, env, logFile) {
  return new Promise((resolve) => {
    const out = logFile ? fs.openSync(logFile, 'w') : 'inherit';
    const child = spawn(process.execPath, [jestBin, '--runInBand', ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
    child.on('exit', (code, signal) => {
      if (typeof out === 'number') fs.closeSync(out);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const args = process.argv.slice(2);
if (args.length > 0) process.exit(await jest(args, {}));

fs.mkdirSync(path.join(root, '.ados'), { recursive: true });
const logFile = path.join(root, '.ados', 'test-wall-clock.log');
const started = Date.now();
console.log(`[test] ${WALL_CLOCK_SUITES.length} wall-clock file(s) run beside the rest (output: ${path.relative(root, logFile)}): ${WALL_CLOCK_SUITES.join(', ')}`);
const wallClock = jest(WALL_CLOCK_SUITES, {}, logFile).then((code) => {
  console.log(`\n[test] wall-clock files done in ${Math.round((Date.now() - started) / 1000)} s (exit ${code}); their output:\n`);
  process.stdout.write(fs.readFileSync(logFile, 'utf8'));
  console.log('[test] end of the wall-clock files\' output\n');
  return code;
});
const rest = jest([], { ADOS_JEST_PART: 'rest' });
const codes = await Promise.all([rest, wallClock]);
console.log(`[test] jest done in ${Math.round((Date.now() - started) / 1000)} s: the rest exit ${codes[0]}, the wall-clock files exit ${codes[1]}`);
process.exit(codes.find((code) => code !== 0) ?? 0);
