/**
 * `npm run bench [-- name ...]`: runs every suite in bench/suites (or the named ones) one after
 * another, writes bench/results/<name>.json and .md, and rewrites bench/results/summary.md.
 * `npm run bench -- --compare a.json b.json` prints two result files side by side instead (nothing runs).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchSuite, compareMarkdown, SUMMARY_FILE, targetMet, writeReport } from './harness';

/** Reads a result file named on the command line (as given, or under bench/results/). */
function readResultFile(file: string): { file: string; content: string } {
  for (const candidate of [file, join(__dirname, 'results', file)]) {
    try {
      return { file, content: readFileSync(candidate, 'utf8') };
    } catch {
      // Try the next place.
    }
  }
  throw new Error(`--compare: cannot read ${file} (give a path, or a file name under bench/results/)`);
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  if (wanted[0] === '--compare') {
    if (wanted.length !== 3) throw new Error('usage: npm run bench -- --compare a.json b.json');
    process.stdout.write(compareMarkdown(readResultFile(wanted[1]), readResultFile(wanted[2])));
    return;
  }
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
