import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

/**
 * Benchmarks report figures with their targets; they never assert. `npm run bench` writes each
 * report as JSON and as a markdown table under bench/results/.
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

export const RESULTS_DIR = join(__dirname, 'results');

export function targetMet(metric: BenchMetric): boolean | undefined {
  if (!metric.target) return undefined;
  return metric.target.op === '<=' ? metric.value <= metric.target.value : metric.value >= metric.target.value;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function toMarkdown(report: BenchReport, recordedAt: string): string {
  const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(3));
  const lines = [
    `# ${report.benchmark}`,
    '',
    report.description,
    '',
    `Recorded ${recordedAt} on ${cpus().length} cores, Node ${process.version}.`,
    '',
    '| metric | value | unit | target | met |',
    '|---|---|---|---|---|',
    ...report.metrics.map((m) => {
      const met = targetMet(m);
      return `| ${m.name} | ${fmt(m.value)} | ${m.unit} | ${m.target ? `${m.target.op} ${m.target.value}` : ''} | ${met === undefined ? '' : met ? 'yes' : 'NO'} |`;
    }),
  ];
  if (report.notes?.length) lines.push('', ...report.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

export function writeReport(report: BenchReport): { json: string; markdown: string } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const recordedAt = new Date().toISOString();
  const json = join(RESULTS_DIR, `${report.benchmark}.json`);
  const markdown = join(RESULTS_DIR, `${report.benchmark}.md`);
  writeFileSync(
    json,
    `${JSON.stringify({ ...report, recordedAt, machine: { cpus: cpus().length, node: process.version } }, null, 2)}\n`,
  );
  writeFileSync(markdown, toMarkdown(report, recordedAt));
  return { json, markdown };
}
