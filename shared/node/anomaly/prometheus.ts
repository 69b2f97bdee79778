/**
 * Scraping a Prometheus text endpoint (the Temporal dev server's own metrics, a service deployed by `deploy.process`):
 * the exposition is parsed by parse-prometheus-text-format, and one series is picked by name and labels.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { hostRefusal } from '../http/allowed-hosts';

/** Where a scrape looks: the series' name and the labels its sample must carry (others may be there too). */
export interface SeriesSelector {
  series: string;
  labels: Record<string, string>;
}

/** A scrape that cannot succeed as asked (refused host, no such series): retrying would not help. */
export class ScrapeRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScrapeRefusedError';
  }
}

/**
 * The value of the selected series in a Prometheus exposition: a gauge's, counter's or untyped sample's value, a
 * histogram's or summary's `_count` when the series names it (`<name>_count`, `<name>_sum`) or the family itself
 * (its count). When several samples match the labels, their values are summed (e.g. a counter across its other labels).
 */
export function seriesValue(text: string, selector: SeriesSelector): number {
  const families = parsePrometheusTextFormat(text);
  const suffix = /_(count|sum)$/.exec(selector.series);
  const baseName = suffix ? selector.series.slice(0, -suffix[0].length) : selector.series;
  const family = families.find((f) => f.name === selector.series) ?? (suffix ? families.find((f) => f.name === baseName && (f.type === 'HISTOGRAM' || f.type === 'SUMMARY')) : undefined);
  if (!family) {
    const names = families.map((f) => f.name);
    const near = names.filter((name) => name.includes(baseName.split('_')[0])).slice(0, 5);
    throw new ScrapeRefusedError(`series "${selector.series}" is not in the exposition (${names.length} families${near.length > 0 ? `; similar: ${near.join(', ')}` : ''}); check --series`);
  }
  const wanted = Object.entries(selector.labels);
  const matching = family.metrics.filter((metric) => wanted.every(([key, value]) => metric.labels?.[key] === value));
  if (matching.length === 0) {
    throw new ScrapeRefusedError(`series "${selector.series}" has no sample with labels ${JSON.stringify(selector.labels)} (${family.metrics.length} sample(s) of other labels); check the labels`);
  }
  const part = suffix?.[1] === 'sum' ? 'sum' : 'count';
  const values = matching.map((metric) => Number(metric.value ?? metric[part]));
  const bad = values.find((value) => !Number.isFinite(value));
  if (bad !== undefined) throw new ScrapeRefusedError(`series "${selector.series}" has a value that is not a finite number (${bad})`);
  return values.reduce((sum, value) => sum + value, 0);
}

/** Fetches an exposition (10 s at most) from a host the allowlist admits, and reads the selected series' value. */
export async function scrapeSeries(url: string, selector: SeriesSelector, allowedHosts: readonly string[]): Promise<number> {
  const refusal = hostRefusal(url, allowedHosts, 'the control worker');
  if (refusal) throw new ScrapeRefusedError(refusal);
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000), headers: { accept: 'text/plain;version=0.0.4' } });
  if (!response.ok) throw new Error(`scrape of ${url}: HTTP ${response.status}`);
  return seriesValue(await response.text(), selector);
}
