/** Types of parse-prometheus-text-format 1.1.1 (it ships none): its output mirrors prom2json's. */
declare module 'parse-prometheus-text-format' {
  /** One sample of a family: a plain value (gauge, counter, untyped), or a histogram's or summary's parts. */
  export interface PrometheusMetric {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  export interface PrometheusFamily {
    name: string;
    help: string;
    type: 'GAUGE' | 'COUNTER' | 'UNTYPED' | 'HISTOGRAM' | 'SUMMARY';
    metrics: PrometheusMetric[];
  }
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
