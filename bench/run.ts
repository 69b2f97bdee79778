/**
 * `npm run bench [-- name ...]`: runs every suite in bench/suites (or the named ones) one after
 * another, writes bench/results/<name>.json and .md, and rewrites bench/results/summary.md.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchSuite, SUMMARY_FILE, targetMet, writeReport } from './harness';

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const files = readdirSync(join(__dirname, 'suites')).filter((f) => f.endsWith('.ts')).sort();
  const suites: BenchSuite[] = [];
  for (const file of files) {
    const mod = (await import(join(__dirname, 'suites', file))) as { suite?: BenchSuite };
    if (mod.suite) suites.push(mod.suite);
  }
  const selected = wanted.length > 0 ? suites.filter((s) => wanted.includes(s.name)) : suites;
  if (selected.length === 0) {
    throw new Error(`no benchmark named ${wanted.join(', ')}; available: ${suites.map((s) => s.name).join(', ')}`);
  }
  for (const suite of selected) {
    process.stdout.write(`[bench] ${suite.name}: ${suite.description}\n`);
    const started = Date.now();
    const report = await suite.run();
    const paths = writeReport(report);
    for (const m of report.metrics) {
      const met = targetMet(m);
      process.stdout.write(`  ${m.name}: ${m.value} ${m.unit}${m.target ? ` (target ${m.target.op} ${m.target.value}: ${met ? 'met' : 'NOT met'})` : ''}\n`);
    }
    process.stdout.write(`  → ${paths.markdown} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  }
  process.stdout.write(`[bench] every target: ${SUMMARY_FILE}\n`);
}

main().catch((error) => {
  process.stderr.write(`[bench] failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
