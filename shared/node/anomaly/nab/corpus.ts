import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { LabeledSeries } from './scoring';

/** One NAB data file with its values and labeled windows; `name` is its path under data/, e.g. `artificialNoAnomaly/art_noisy.csv`. */
export interface NabSeries extends LabeledSeries {
  values: number[];
}

/** NAB's timestamps ("2014-02-14 14:30:00", windows with ".000000") are UTC wall times. */
export function parseNabTimestamp(text: string): number {
  const match = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)?$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a NAB timestamp: write "YYYY-MM-DD hh:mm:ss"`);
  return Date.parse(`${match[1]}T${match[2]}Z`);
}

const windowsFileSchema = z.record(z.string(), z.array(z.tuple([z.string(), z.string()])));

/** A `timestamp,value` file; a bad line is reported with its number. */
export function parseNabCsv(text: string, name: string): { timestamps: number[]; values: number[] } {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== 'timestamp,value') throw new Error(`${name} line 1: the header must be "timestamp,value"`);
  const timestamps: number[] = [];
  const values: number[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const [ts, value, extra] = line.split(',');
    const parsed = Number(value);
    if (extra !== undefined || value === undefined || !Number.isFinite(parsed)) throw new Error(`${name} line ${i + 2}: must be "timestamp,value" with a number as the value`);
    timestamps.push(parseNabTimestamp(ts));
    values.push(parsed);
  });
  return { timestamps, values };
}

/** Every labeled file of a NAB corpus directory (data/<group>/<file>.csv and labels/combined_windows.json), by name. */
export function readNabCorpus(dir: string): NabSeries[] {
  const windowsFile = join(dir, 'labels', 'combined_windows.json');
  const parsed = windowsFileSchema.safeParse(JSON.parse(readFileSync(windowsFile, 'utf8')));
  if (!parsed.success) throw new Error(`${windowsFile}: must map each file to a list of [start, end] timestamps`);
  const series: NabSeries[] = [];
  for (const group of readdirSync(join(dir, 'data')).sort()) {
    for (const file of readdirSync(join(dir, 'data', group)).filter((f) => f.endsWith('.csv')).sort()) {
      const name = `${group}/${file}`;
      const windows = parsed.data[name];
      if (!windows) throw new Error(`${windowsFile} has no entry for ${name}: label it (an empty list when it has no anomaly)`);
      const { timestamps, values } = parseNabCsv(readFileSync(join(dir, 'data', group, file), 'utf8'), name);
      series.push({ name, timestamps, values, windows: windows.map(([a, b]) => [parseNabTimestamp(a), parseNabTimestamp(b)] as const) });
    }
  }
  return series;
}
