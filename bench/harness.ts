import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Benchmarks report figures with their targets; they never assert. `npm run bench` (and `npm run chaos`) write each
 * report as JSON and as a markdown table under bench/results/, with the commit they measured, and rewrite
 * bench/results/summary.md: every target of every result file and whether it is met.
 */
export interface BenchMetric {
  name: string;
  value: number;
  unit: string;
  /** The target from the issue, e.g. { op: '<=', value: 1.15 }. */
  target?: { op: '<=' | '>='; value: number };
}

export interface BenchReport {
  benchmark: string;
  description: string;
  metrics: BenchMetric[];
  notes?: string[];
  /** Raw samples, for whoever wants to recompute. */
  samples?: Record<string, number[]>;
}

export interface BenchSuite {
  name: string;
  description: string;
  run(): Promise<BenchReport>;
}

/** The code a report measured: HEAD, and the files that differed from it (the results directory aside). */
export interface MeasuredCommit {
  /** `git rev-parse HEAD`, or undefined outside a git checkout (then `error` says why). */
  sha?: string;
  dirty: boolean;
  /** `git status --porcelain` paths, bench/results excluded (a run's own reports are not what it measured). */
  changedFiles: string[];
  error?: string;
}

export const RESULTS_DIR = join(__dirname, 'results');
const PROJECT_ROOT = join(__dirname, '..');
export const SUMMARY_FILE = join(RESULTS_DIR, 'summary.md');

export function targetMet(metric: BenchMetric): boolean | undefined {
  if (!metric.target) return undefined;
  return metric.target.op === '<=' ? metric.value <= metric.target.value : metric.value >= metric.target.value;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function measuredCommit(): MeasuredCommit {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const sha = git('rev-parse', 'HEAD').trim();
    const changedFiles = git('status', '--porcelain', '--', '.', ':(exclude)bench/results')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.slice(3));
    return { sha, dirty: changedFiles.length > 0, changedFiles };
  } catch (error) {
    return { dirty: true, changedFiles: [], error: `not measured from a git checkout: ${(error as Error).message.split('\n')[0]}` };
  }
}

/** Up to `max` names, then "… and N more". */
function someOf(names: string[], max = 10): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} … and ${names.length - max} more`;
}

export function describeCommit(commit: MeasuredCommit): string {
  if (!commit.sha) return `commit unknown (${commit.error})`;
  if (!commit.dirty) return `commit ${commit.sha}`;
  return `commit ${commit.sha} with uncommitted changes in ${commit.changedFiles.length} file(s): ${someOf(commit.changedFiles)}`;
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(3));
const metCell = (metric: BenchMetric) => {
  const met = targetMet(metric);
  return met === undefined ? '' : met ? 'yes' : 'NO';
};

export function toMarkdown(report: BenchReport, recordedAt: string, commit: MeasuredCommit): string {
  const lines = [
    `# ${report.benchmark}`,
    '',
    report.description,
    '',
    `Recorded ${recordedAt} on ${cpus().length} cores, Node ${process.version}; measured ${describeCommit(commit)}.`,
    '',
    '| metric | value | unit | target | met |',
    '|---|---|---|---|---|',
    ...report.metrics.map((m) => `| ${m.name} | ${fmt(m.value)} | ${m.unit} | ${m.target ? `${m.target.op} ${m.target.value}` : ''} | ${metCell(m)} |`),
  ];
  if (report.notes?.length) lines.push('', ...report.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

export function writeReport(report: BenchReport): { json: string; markdown: string } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const recordedAt = new Date().toISOString();
  const commit = measuredCommit();
  const json = join(RESULTS_DIR, `${report.benchmark}.json`);
  const markdown = join(RESULTS_DIR, `${report.benchmark}.md`);
  writeFileSync(json, `${JSON.stringify({ ...report, recordedAt, commit, machine: { cpus: cpus().length, node: process.version } }, null, 2)}\n`);
  writeFileSync(markdown, toMarkdown(report, recordedAt, commit));
  writeSummary();
  return { json, markdown };
}

/** What summary.md reads from each result file (files written before the commit was recorded lack it). */
const resultFileSchema = z.object({
  benchmark: z.string(),
  recordedAt: z.string(),
  commit: z.object({ sha: z.string().optional(), dirty: z.boolean(), changedFiles: z.array(z.string()), error: z.string().optional() }).optional(),
  metrics: z.array(
    z.object({
      name: z.string(),
      value: z.number(),
      unit: z.string(),
      target: z.object({ op: z.enum(['<=', '>=']), value: z.number() }).optional(),
    }),
  ),
});

/** bench/results/summary.md: each result file's targets, met or not, and the commit it measured. */
export function summaryMarkdown(files: Array<{ file: string; content: string }>): string {
  const lines = [
    '# Benchmark summary',
    '',
    'Written by `npm run bench` and `npm run chaos` from the result files beside it; each line is one target.',
    '',
    '| benchmark | target | value | met | recorded | commit |',
    '|---|---|---|---|---|---|',
  ];
  for (const { file, content } of files) {
    const parsed = resultFileSchema.safeParse(JSON.parse(content));
    if (!parsed.success) throw new Error(`bench/results/${file} is not a benchmark result: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const result = parsed.data;
    const commit = result.commit ? `${result.commit.sha?.slice(0, 12) ?? 'unknown'}${result.commit.dirty ? ' (dirty)' : ''}` : 'not recorded';
    const md = file.replace(/\.json$/, '.md');
    const targeted = result.metrics.filter((m) => m.target);
    for (const metric of targeted) {
      lines.push(
        `| [${result.benchmark}](${md}) | ${metric.name} ${metric.target!.op} ${metric.target!.value} ${metric.unit} | ${fmt(metric.value)} | ${metCell(metric)} | ${result.recordedAt} | ${commit} |`,
      );
    }
    // A benchmark the issue sets no target for (a ratio reported for information) still gets its rows.
    if (targeted.length === 0) {
      for (const metric of result.metrics) {
        lines.push(`| [${result.benchmark}](${md}) | ${metric.name} (no target) | ${fmt(metric.value)} ${metric.unit} | n/a | ${result.recordedAt} | ${commit} |`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/** One result file as `npm run bench -- --compare` reads it. */
function parseResultFile(label: string, content: string) {
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (error) {
    throw new Error(`${label} is not JSON: ${(error as Error).message}`);
  }
  const parsed = resultFileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${label} is not a benchmark result: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/**
 * `npm run bench -- --compare a.json b.json`: two result files side by side, one line per metric of either (matched by
 * name), with b / a and whether each meets its target. The files may be of different benchmarks (a run on the cluster
 * against one on the dev server); metrics only one of them has show a blank on the other side.
 */
export function compareMarkdown(a: { file: string; content: string }, b: { file: string; content: string }): string {
  const left = parseResultFile(a.file, a.content);
  const right = parseResultFile(b.file, b.content);
  const label = (r: typeof left) => `${r.benchmark} (${r.recordedAt}${r.commit?.sha ? `, ${r.commit.sha.slice(0, 12)}${r.commit.dirty ? ' dirty' : ''}` : ''})`;
  const names = [...new Set([...left.metrics.map((m) => m.name), ...right.metrics.map((m) => m.name)])];
  const cell = (metric: (typeof left.metrics)[number] | undefined) => (metric ? `${fmt(metric.value)}${metric.target ? ` (${metCell(metric)})` : ''}` : '');
  const lines = [
    `# Compare: ${a.file} → ${b.file}`,
    '',
    `- a: ${label(left)}`,
    `- b: ${label(right)}`,
    '',
    '| metric | unit | target | a | b | b / a |',
    '|---|---|---|---|---|---|',
  ];
  for (const name of names) {
    const ma = left.metrics.find((m) => m.name === name);
    const mb = right.metrics.find((m) => m.name === name);
    const target = (ma ?? mb)!.target;
    const ratio = ma && mb && ma.value !== 0 ? fmt(mb.value / ma.value) : '';
    lines.push(`| ${name} | ${(ma ?? mb)!.unit} | ${target ? `${target.op} ${target.value}` : ''} | ${cell(ma)} | ${cell(mb)} | ${ratio} |`);
  }
  return `${lines.join('\n')}\n`;
}

export function writeSummary(): string {
  const files = readdirSync(RESULTS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, content: readFileSync(join(RESULTS_DIR, file), 'utf8') }));
  writeFileSync(SUMMARY_FILE, summaryMarkdown(files));
  return SUMMARY_FILE;
}
