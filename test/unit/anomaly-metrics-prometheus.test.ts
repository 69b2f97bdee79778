/**
 * Picking one series out of a real Prometheus exposition (written by prom-client, parsed by
 * parse-prometheus-text-format): gauges, counters summed across other labels, a histogram's _count and _sum, and the
 * messages when the series or its labels are not there.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ScrapeRefusedError, seriesValue } from '../../shared/node/anomaly/prometheus';

let exposition: string;

beforeAll(async () => {
  const registry = new Registry();
  new Gauge({ name: 'queue_depth', help: 'items waiting', registers: [registry] }).set(42);
  const requests = new Counter({ name: 'requests_total', help: 'requests', labelNames: ['code', 'method'], registers: [registry] });
  requests.inc({ code: '200', method: 'get' }, 7);
  requests.inc({ code: '200', method: 'post' }, 3);
  requests.inc({ code: '500', method: 'get' }, 1);
  const latency = new Histogram({ name: 'latency_seconds', help: 'latency', buckets: [0.1, 1], registers: [registry] });
  latency.observe(0.05);
  latency.observe(0.5);
  latency.observe(2);
  exposition = await registry.metrics();
});

test('a gauge, and a counter summed over the samples that carry the labels asked for', () => {
  expect(seriesValue(exposition, { series: 'queue_depth', labels: {} })).toBe(42);
  expect(seriesValue(exposition, { series: 'requests_total', labels: { code: '200' } })).toBe(10);
  expect(seriesValue(exposition, { series: 'requests_total', labels: { code: '500', method: 'get' } })).toBe(1);
  expect(seriesValue(exposition, { series: 'requests_total', labels: {} })).toBe(11);
});

test("a histogram's count (by its name or _count) and its sum", () => {
  expect(seriesValue(exposition, { series: 'latency_seconds', labels: {} })).toBe(3);
  expect(seriesValue(exposition, { series: 'latency_seconds_count', labels: {} })).toBe(3);
  expect(seriesValue(exposition, { series: 'latency_seconds_sum', labels: {} })).toBeCloseTo(2.55, 10);
});

test('a missing series or labels is refused with what is there', () => {
  expect(() => seriesValue(exposition, { series: 'queue_dept', labels: {} })).toThrow(ScrapeRefusedError);
  expect(() => seriesValue(exposition, { series: 'queue_dept', labels: {} })).toThrow('series "queue_dept" is not in the exposition (3 families; similar: queue_depth); check --series');
  expect(() => seriesValue(exposition, { series: 'requests_total', labels: { code: '404' } })).toThrow('series "requests_total" has no sample with labels {"code":"404"} (3 sample(s) of other labels); check the labels');
});
