import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Connection } from '@temporalio/client';
import type { AdosConfig } from '../shared/node/config';
import { openDatabase, type DatabaseHandle } from '../shared/node/db';
import type { Logger } from '../shared/node/logger';
import { adosRegistry, registerScrapeMetrics } from '../shared/node/metrics/ados-metrics';
import { freeLoopbackPort } from '../shared/node/runtime/processes';
import { installRuntime } from './runtime';

export interface MetricsEndpoint {
  /** http://host:port/metrics */
  url: string;
  close(): Promise<void>;
}

/**
 * A worker's Prometheus endpoint (README, "Observe"), when ADOS_METRICS_PORT is set: GET /metrics answers ADOS's
 * metrics (shared/node/metrics/ados-metrics.ts) followed by the Temporal Runtime's (temporal_*: task slots, poll and
 * schedule-to-start latencies, sticky cache, ...), which the Runtime exports on a loopback port of its own that this
 * endpoint reads. Call it before anything creates the Runtime. The scrape-time gauges read PostgreSQL through their own
 * small pool (not for a `pglite:` database, which one process holds) and Temporal's visibility for pending approvals.
 */
export async function startWorkerMetrics(config: AdosConfig, logger: Logger): Promise<MetricsEndpoint | undefined> {
  if (config.metricsPort === undefined) return undefined;
  // The Runtime's exporter needs a fixed address; only this process reads it.
  const runtimeAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  const runtimeMetrics = installRuntime(logger, { prometheusBindAddress: runtimeAddress }) ? `http://${runtimeAddress}/metrics` : undefined;
  const log = logger.child({ component: 'metrics' });

  let database: Promise<DatabaseHandle> | undefined;
  let temporal: Promise<Connection> | undefined;
  const databaseUrl = config.databaseUrl?.startsWith('pglite:') ? undefined : config.databaseUrl;
  const onError = (source: string, error: unknown) => log.warn({ source, err: error }, 'metrics source could not be read');
  const connect = () => (temporal ??= Connection.connect({ address: config.temporalAddress, connectTimeout: '2s' }).catch((error: unknown) => {
    temporal = undefined;
    throw error;
  }));
  registerScrapeMetrics({
    onError,
    ...(databaseUrl
      ? {
          db: async () =>
            (
              await (database ??= openDatabase(databaseUrl, { poolSize: 1 }).catch((error: unknown) => {
                database = undefined;
                throw error;
              }))
            ).db,
        }
      : {}),
    async countWorkflows(query) {
      const connection = await connect();
      const { count } = await connection.workflowService.countWorkflowExecutions({ namespace: config.temporalNamespace, query });
      return Number(count ?? 0);
    },
  });

  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '/').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    void (async () => {
      try {
        const [ados, temporalText] = await Promise.all([adosRegistry.metrics(), runtimeMetrics ? readRuntimeMetrics(runtimeMetrics, onError) : '']);
        response.writeHead(200, { 'content-type': adosRegistry.contentType }).end(`${ados}\n${temporalText}`);
      } catch (error) {
        log.error({ err: error }, 'metrics scrape failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics scrape failed: ${(error as Error).message}\n`);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metricsPort, config.metricsHost, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.metricsHost}:${port}/metrics`;
  log.info({ url, runtimeMetrics: runtimeMetrics !== undefined }, 'metrics endpoint listening');
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await (await database?.catch(() => undefined))?.close();
      await (await temporal?.catch(() => undefined))?.close();
    },
  };
}

/** The Runtime's exposition text; empty (and reported) when it does not answer, so ADOS's metrics still come. */
async function readRuntimeMetrics(url: string, onError: (source: string, error: unknown) => void): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.text();
  } catch (error) {
    onError('temporal-runtime', error);
    return '';
  }
}
