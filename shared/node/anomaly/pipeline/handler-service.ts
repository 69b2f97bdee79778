/**
 * The generated handler's HTTP service, run by the process runtime in a handler artifact's release directory (see
 * handler-artifact.ts): it reads handler.json there and scores samples with the detector configuration of the
 * handler's schema, through the same detectors as the monitor (shared/node/anomaly/detection).
 *
 *   GET  /health  200 once handler.json parsed
 *   GET  /        the handler: name, pid, environment, metric, anomaly type
 *   POST /score   { samples: [{ ts, value }] } → { scored, flagged: [ts …], peakScore }: a fresh ensemble per request,
 *                 fed the samples in order (what comes first warms it up), so the same request always scores the same
 */
import fs from 'node:fs';
import http from 'node:http';
import { z } from 'zod';
import { metricSampleSchema } from '../../../contract/anomaly/pipeline';
import { formatIssues, issuesFromZod } from '../../../contract/validation';
import { createLogger } from '../../logger';
import { createEnsemble } from '../detection';
import { HANDLER_FILE, handlerFileSchema, type HandlerFile } from './handler-artifact';

const scoreRequestSchema = z.strictObject({ samples: z.array(metricSampleSchema).max(100_000, 'at most 100000 samples per request') });

/** What POST /score answers. */
export interface ScoreResponse {
  scored: number;
  /** The timestamps of the samples the ensemble found anomalous. */
  flagged: string[];
  peakScore: number;
}

/** Scores the samples in order with a fresh ensemble of the handler's configuration. */
export function scoreSamples(handler: HandlerFile, samples: ReadonlyArray<{ ts: string; value: number }>): ScoreResponse {
  const ensemble = createEnsemble(handler.schema.metadata.handler.detection);
  const flagged: string[] = [];
  let peakScore = 0;
  for (const sample of samples) {
    const scored = ensemble.push({ ts: Date.parse(sample.ts), value: sample.value });
    peakScore = Math.max(peakScore, scored.score);
    if (scored.anomalous) flagged.push(sample.ts);
  }
  return { scored: samples.length, flagged, peakScore };
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function answer(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  response.end(JSON.stringify(body));
}

function serve(handler: HandlerFile): http.Server {
  const about = {
    name: handler.name,
    pid: process.pid,
    environment: process.env.SERVICE_ENVIRONMENT ?? null,
    metric: handler.schema.metadata.handler.metric,
    anomalyType: handler.schema.metadata.handler.anomalyType,
    extractionWorkflowId: handler.extractionWorkflowId,
  };
  return http.createServer((request, response) => {
    void (async () => {
      if (request.method === 'GET' && request.url === '/health') return answer(response, 200, { ok: true, pid: process.pid });
      if (request.method === 'GET' && request.url === '/') return answer(response, 200, about);
      if (request.method === 'POST' && request.url === '/score') {
        let body: unknown;
        try {
          body = JSON.parse(await readBody(request));
        } catch {
          return answer(response, 400, { error: 'the body must be JSON: { "samples": [{ "ts": …, "value": … }] }' });
        }
        const parsed = scoreRequestSchema.safeParse(body);
        if (!parsed.success) return answer(response, 400, { error: formatIssues(issuesFromZod(parsed.error)) });
        return answer(response, 200, scoreSamples(handler, parsed.data.samples));
      }
      return answer(response, 404, { error: `no ${request.method} ${request.url}: GET /health, GET /, POST /score` });
    })().catch((error: Error) => answer(response, 500, { error: error.message }));
  });
}

function main(): void {
  const logger = createLogger('anomaly-handler', process.env.LOG_LEVEL ?? 'info');
  const parsed = handlerFileSchema.safeParse(JSON.parse(fs.readFileSync(HANDLER_FILE, 'utf8')));
  if (!parsed.success) {
    logger.error(`${HANDLER_FILE} is not a handler:\n${formatIssues(issuesFromZod(parsed.error))}`);
    process.exit(1);
  }
  const port = Number(process.env.PORT);
  serve(parsed.data).listen(port, process.env.HOST ?? '127.0.0.1', () => logger.info({ port, handler: parsed.data.name }, 'handler serving'));
  process.on('SIGTERM', () => process.exit(0));
}

if (require.main === module) main();
