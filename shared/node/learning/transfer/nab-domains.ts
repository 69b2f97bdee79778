/**
 * Real-data domains from NAB's labeled AWS CloudWatch series (read in place from ../shared/data/nab, never copied):
 * each series, robust-scaled by its own median and MAD, is cut into hour-long windows (12 five-minute samples); a
 * window's features describe its level, spread and change against the windows before it, and its label says whether
 * it overlaps one of NAB's labeled anomaly windows. A domain is a group of series: the anomaly classifier of one group
 * (EC2 CPU) is the source for another (disk, network, ELB and RDS).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DomainData } from './synthetic';

/** Samples per window (an hour of five-minute samples). */
const WINDOW = 12;
/** Windows before a window that its "against the recent past" features compare with (a day). */
const TRAILING = 24;

export const NAB_WINDOW_FEATURES = ['mean', 'std', 'min', 'max', 'range', 'slope', 'max_step', 'mean_step', 'level_shift', 'spread_ratio', 'max_z'] as const;

/** The series of each NAB domain (files under data/realAWSCloudwatch, without .csv). */
export const NAB_GROUPS = {
  'nab-ec2-cpu': ['ec2_cpu_utilization_24ae8d', 'ec2_cpu_utilization_53ea38', 'ec2_cpu_utilization_5f5533', 'ec2_cpu_utilization_77c1ca', 'ec2_cpu_utilization_825cc2', 'ec2_cpu_utilization_ac20cd', 'ec2_cpu_utilization_c6585a', 'ec2_cpu_utilization_fe7f93'],
  'nab-other-aws': ['ec2_disk_write_bytes_1ef3de', 'ec2_disk_write_bytes_c0d644', 'ec2_network_in_257a54', 'ec2_network_in_5abac7', 'elb_request_count_8c0756', 'rds_cpu_utilization_cc0c53', 'rds_cpu_utilization_e47b3b'],
} as const;

export type NabDomainName = keyof typeof NAB_GROUPS;

const parseTime = (text: string) => Date.parse(`${text.trim().replace(' ', 'T')}Z`);

function readSeries(nabDir: string, file: string): { times: number[]; values: number[] } {
  const path = join(nabDir, 'data', 'realAWSCloudwatch', `${file}.csv`);
  const lines = readFileSync(path, 'utf8').split('\n').slice(1).filter((line) => line.trim() !== '');
  const times: number[] = [];
  const values: number[] = [];
  for (const line of lines) {
    const [time, value] = line.split(',');
    times.push(parseTime(time));
    values.push(Number(value));
  }
  return { times, values };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
const std = (values: number[]) => {
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / values.length);
};

/** The window features and labels of one series. */
export function seriesWindows(values: number[], times: number[], anomalyWindows: Array<[number, number]>): { features: number[][]; labels: number[] } {
  const center = median(values);
  const mad = median(values.map((v) => Math.abs(v - center))) || std(values) || 1;
  const scaled = values.map((v) => (v - center) / mad);
  const features: number[][] = [];
  const labels: number[] = [];
  const means: number[] = [];
  const stds: number[] = [];
  for (let start = 0; start + WINDOW <= scaled.length; start += WINDOW) {
    const w = scaled.slice(start, start + WINDOW);
    const steps = w.slice(1).map((v, i) => Math.abs(v - w[i]));
    const m = mean(w);
    const s = std(w);
    const past = means.slice(-TRAILING);
    const pastStd = stds.slice(-TRAILING);
    const pastMean = past.length ? mean(past) : m;
    const pastSpread = past.length > 1 ? std(past) : 1;
    const typicalStd = pastStd.length ? mean(pastStd) : s;
    features.push([m, s, Math.min(...w), Math.max(...w), Math.max(...w) - Math.min(...w), w[w.length - 1] - w[0], Math.max(...steps), mean(steps), (m - pastMean) / (pastSpread + 0.1), s / (typicalStd + 0.1), Math.max(...w.map((v) => Math.abs(v)))]);
    const from = times[start];
    const to = times[start + WINDOW - 1];
    labels.push(anomalyWindows.some(([a, b]) => from <= b && to >= a) ? 1 : 0);
    means.push(m);
    stds.push(s);
  }
  return { features, labels };
}

/** A NAB domain: the windows of its group's series, in file order. */
export function nabDomain(name: NabDomainName, nabDir: string, splitSeed: number, holdoutFraction: number): DomainData {
  const windows = JSON.parse(readFileSync(join(nabDir, 'labels', 'combined_windows.json'), 'utf8')) as Record<string, Array<[string, string]>>;
  const features: number[][] = [];
  const labels: number[] = [];
  for (const file of NAB_GROUPS[name]) {
    const key = `realAWSCloudwatch/${file}.csv`;
    const labeled = windows[key];
    if (!labeled) throw new Error(`${join(nabDir, 'labels', 'combined_windows.json')} has no windows for ${key}`);
    const series = readSeries(nabDir, file);
    const cut = seriesWindows(series.values, series.times, labeled.map(([a, b]) => [parseTime(a), parseTime(b)]));
    features.push(...cut.features);
    labels.push(...cut.labels);
  }
  return { name, featureNames: [...NAB_WINDOW_FEATURES], features, labels, splitSeed, holdoutFraction, origin: { kind: 'nab', directory: 'data/realAWSCloudwatch', series: [...NAB_GROUPS[name]], windowSamples: WINDOW } };
}
