/**
 * A metric's samples (`metric_samples`, migration 0012_anomaly_monitor): NAB-format CSV lines parsed one by one,
 * files ingested as a stream in batches (idempotent by timestamp), samples from a scrape stored, and the monitor's
 * range read of the samples after its checkpoint.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { sql } from 'kysely';
import { InputValidationError } from '../../contract/validation';
import type { Db } from '../db';

/** Which metric's samples. */
export interface MetricRef {
  tenantId: string;
  metric: string;
}

/** One sample: its time in ms since the epoch and its value. */
export interface Sample {
  ts: number;
  value: number;
}

/** A line of a CSV file that was not ingested, and why. */
export interface BadLine {
  line: number;
  reason: string;
}

/** NAB's timestamps (`2014-02-14 14:30:00`), also with a `T`, fractional seconds or a zone; no zone means UTC. */
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:?\d{2})?$/;
/** The header NAB's files start with. */
const HEADER = /^\s*"?timestamp"?\s*,\s*"?value"?\s*$/i;

/** Samples per insert statement of an ingest. */
export const INGEST_BATCH = 5000;
/** How many bad lines an ingest report lists (the rest are counted). */
export const LISTED_BAD_LINES = 20;

/**
 * Parses one line of a `timestamp,value` file: the sample, `header` for NAB's header line, or what is wrong (naming
 * the column and the fix).
 */
export function parseSampleLine(text: string): { sample: Sample } | { header: true } | { problem: string } {
  if (HEADER.test(text)) return { header: true };
  const cells = text.split(',');
  if (cells.length !== 2) return { problem: `expected 2 columns "timestamp,value", got ${cells.length}` };
  const [rawTs, rawValue] = cells.map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'));
  const match = TIMESTAMP.exec(rawTs);
  const ts = match ? Date.parse(`${match[1]}T${match[2]}${match[3] ?? 'Z'}`) : Number.NaN;
  if (Number.isNaN(ts)) return { problem: `timestamp: "${rawTs.slice(0, 40)}" is not a time like 2014-02-14 14:30:00 (UTC unless a zone is given)` };
  if (rawValue === '') return { problem: 'value: empty (give a number, e.g. 42.5)' };
  const value = Number(rawValue);
  if (!Number.isFinite(value)) return { problem: `value: "${rawValue.slice(0, 40)}" is not a finite number (e.g. 42.5)` };
  return { sample: { ts, value } };
}

export interface IngestReport {
  /** Lines read (blank lines and the header aside). */
  lines: number;
  /** Samples this ingest added. */
  added: number;
  /** Samples whose timestamp the metric already had (or that repeated one earlier in the file): left as they were. */
  alreadyThere: number;
  /** Bad lines, the first LISTED_BAD_LINES of them by line number. */
  badLines: BadLine[];
  /** All bad lines. */
  badCount: number;
}

/**
 * Ingests a NAB-format CSV file into a metric as a stream (a 1M-line file never sits in memory), INGEST_BATCH samples
 * per insert. Good lines are ingested whatever bad lines the file has; the bad ones are reported by line number.
 * Idempotent by timestamp: ingesting the file again adds nothing.
 */
export async function ingestCsv(db: Db, ref: MetricRef, path: string): Promise<IngestReport> {
  const report: IngestReport = { lines: 0, added: 0, alreadyThere: 0, badLines: [], badCount: 0 };
  let batch: Sample[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const added = await insertSamples(db, ref, batch);
    report.added += added;
    report.alreadyThere += batch.length - added;
    batch = [];
  };
  for await (const { line, parsed } of sampleLines(path)) {
    report.lines += 1;
    if ('problem' in parsed) {
      report.badCount += 1;
      if (report.badLines.length < LISTED_BAD_LINES) report.badLines.push({ line, reason: parsed.problem });
      continue;
    }
    batch.push(parsed.sample);
    if (batch.length >= INGEST_BATCH) await flush();
  }
  await flush();
  return report;
}

/**
 * The lines of a CSV file, parsed, with their line numbers (blank lines and the header skipped), read as a stream.
 * A file that cannot be opened is an InputValidationError naming it.
 */
export async function* sampleLines(path: string): AsyncGenerator<{ line: number; parsed: { sample: Sample } | { problem: string } }> {
  const input = createReadStream(path, { encoding: 'utf8' });
  try {
    await new Promise<void>((resolve, reject) => {
      input.once('open', () => resolve());
      input.once('error', reject);
    });
  } catch (error) {
    throw new InputValidationError(`metric file ${path}`, [{ path: '<file.csv>', message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
  }
  let line = 0;
  let first = true;
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    line += 1;
    if (text.trim() === '') continue;
    const parsed = parseSampleLine(text);
    if (!('header' in parsed)) yield { line, parsed };
    else if (!first) yield { line, parsed: { problem: 'a header line "timestamp,value" after the first line (remove it)' } };
    first = false;
  }
}

/** Inserts samples (one statement); a timestamp the metric already has is left as it is. Returns how many were added. */
export async function insertSamples(db: Db, ref: MetricRef, samples: readonly Sample[]): Promise<number> {
  if (samples.length === 0) return 0;
  const { rows } = await sql<{ n: number }>`
    WITH ins AS (
      INSERT INTO metric_samples (tenant_id, metric, ts, value)
      SELECT ${ref.tenantId}, ${ref.metric}, s.ts, s.value
      FROM unnest(${samples.map((s) => new Date(s.ts).toISOString())}::timestamptz[], ${samples.map((s) => s.value)}::float8[]) AS s(ts, value)
      ON CONFLICT (tenant_id, metric, ts) DO NOTHING
      RETURNING 1
    )
    SELECT count(*)::integer AS n FROM ins`.execute(db);
  return rows[0].n;
}

/** The metric's samples after `afterTs` (all of them when undefined), in time order, `limit` at most: one range read. */
export async function readSamplesAfter(db: Db, ref: MetricRef, afterTs: number | undefined, limit: number): Promise<Sample[]> {
  let query = db.selectFrom('metric_samples').select(['ts', 'value']).where('tenant_id', '=', ref.tenantId).where('metric', '=', ref.metric);
  if (afterTs !== undefined) query = query.where('ts', '>', new Date(afterTs));
  const rows = await query.orderBy('ts').limit(limit).execute();
  return rows.map((row) => ({ ts: row.ts.getTime(), value: row.value }));
}

/** How many samples the metric has, and its first and last times. */
export async function sampleSpan(db: Db, ref: MetricRef): Promise<{ count: number; first?: Date; last?: Date }> {
  const row = await db
    .selectFrom('metric_samples')
    .select((eb) => [eb.fn.countAll<string>().as('n'), eb.fn.min('ts').as('first'), eb.fn.max('ts').as('last')])
    .where('tenant_id', '=', ref.tenantId)
    .where('metric', '=', ref.metric)
    .executeTakeFirstOrThrow();
  return { count: Number(row.n), ...(row.first ? { first: row.first as Date } : {}), ...(row.last ? { last: row.last as Date } : {}) };
}
