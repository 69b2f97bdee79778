/**
 * `npm run bench -- anomaly-ingest`: `ados metrics ingest` of a generated 1,000,000-line NAB-format CSV file
 * (`timestamp,value`, one sample a minute) as a child process, into the benchmark database (bench/lib/database.ts:
 * PostgreSQL when the toolchain has it, else PGlite over its socket), migrated first. It reports samples ingested per
 * second (the CLI's start included) and the child's peak RSS (VmHWM), then ingests the same file again: every line is
 * already there (idempotent by timestamp), which is the re-run's rate. Nothing here asserts.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { migrateToLatest, openDatabase } from '../../shared/node/db';
import type { BenchMetric, BenchReport, BenchSuite } from '../harness';
import { benchDatabase } from '../lib/database';
import { runAdosMeasured } from '../lib/measured-cli';

const LINES = 1_000_000;
const TENANT = 'bench_ingest';
const METRIC = 'generated_cpu';
const MB = 1024 * 1024;

/** NAB's timestamp format, `YYYY-MM-DD HH:MM:SS` (UTC). */
const nabTimestamp = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

/** A daily cycle with deterministic noise, one sample a minute from 2014-01-01, written as a stream. */
async function writeNabCsv(file: string, lines: number): Promise<void> {
  const out = createWriteStream(file);
  const start = Date.UTC(2014, 0, 1);
  let noise = 1;
  out.write('timestamp,value\n');
  for (let i = 0; i < lines; i += 1) {
    noise = (noise * 16807) % 2147483647;
    const value = 50 + 20 * Math.sin((2 * Math.PI * i) / 1440) + (noise / 2147483647) * 5;
    if (!out.write(`${nabTimestamp(start + i * 60_000)},${value.toFixed(3)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

interface IngestRun {
  seconds: number;
  peakRssBytes: number;
  report: { lines: number; added: number; alreadyThere: number; badCount: number };
}

/** One `ados metrics ingest` of `file` as a child process: wall time, peak RSS and its JSON report. */
async function ingestOnce(file: string, databaseUrl: string): Promise<IngestRun> {
  const run = await runAdosMeasured(['metrics', 'ingest', file, '--metric', METRIC, '--tenant', TENANT, '--json'], { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
  return { seconds: run.seconds, peakRssBytes: run.peakRssBytes, report: JSON.parse(run.stdout) as IngestRun['report'] };
}

export const suite: BenchSuite = {
  name: 'anomaly-ingest',
  description: `\`ados metrics ingest\` of a generated ${LINES.toLocaleString('en')}-line NAB-format CSV file into the benchmark database, then the same file again`,
  async run(): Promise<BenchReport> {
    const dir = mkdtempSync(join(tmpdir(), 'ados-bench-ingest-'));
    const file = join(dir, `${METRIC}.csv`);
    const database = await benchDatabase();
    let first: IngestRun;
    let again: IngestRun;
    let stored: number;
    try {
      await writeNabCsv(file, LINES);
      const opened = await openDatabase(database.url, { poolSize: 1 });
      try {
        await migrateToLatest(opened.db);
        first = await ingestOnce(file, database.url);
        again = await ingestOnce(file, database.url);
        const row = await opened.db.selectFrom('metric_samples').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', TENANT).where('metric', '=', METRIC).executeTakeFirstOrThrow();
        stored = Number(row.n);
      } finally {
        await opened.close();
      }
    } finally {
      await database.stop();
    }
    const fileMb = statSync(file).size / MB;
    rmSync(dir, { recursive: true, force: true });
    const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
    const metrics: BenchMetric[] = [
      { name: 'ingest: samples per second (1M new samples)', value: Math.round(first.report.added / first.seconds), unit: 'samples/s' },
      { name: 'ingest: peak RSS of the CLI (1M new samples)', value: round(first.peakRssBytes / MB), unit: 'MB' },
      { name: 'ingest: wall time (1M new samples)', value: round(first.seconds), unit: 's' },
      { name: 're-ingest: lines per second (all already there)', value: Math.round(again.report.lines / again.seconds), unit: 'lines/s' },
      { name: 're-ingest: peak RSS of the CLI', value: round(again.peakRssBytes / MB), unit: 'MB' },
      { name: 'samples stored after both', value: stored, unit: 'samples' },
    ];
    return {
      benchmark: 'anomaly-ingest',
      description: suite.description,
      metrics,
      notes: [
        `Database: ${database.kind}. The file: ${LINES.toLocaleString('en')} lines of \`timestamp,value\` after a header (${round(fileMb)} MB), one sample a minute from 2014-01-01 00:00:00, generated in a temporary directory and removed afterwards.`,
        `First run: ${first.report.added.toLocaleString('en')} added, ${first.report.alreadyThere} already there, ${first.report.badCount} bad, ${first.seconds.toFixed(1)} s; second run: ${again.report.added} added, ${again.report.alreadyThere.toLocaleString('en')} already there, ${again.seconds.toFixed(1)} s.`,
        'Each run is `ados metrics ingest <file> --metric m --json` as a child process (the CLI\'s start and its database connection included); the file is streamed and written in batches of INGEST_BATCH rows (shared/node/anomaly/samples.ts). Peak RSS is the child\'s VmHWM, sampled every 100 ms.',
      ],
    };
  },
};
