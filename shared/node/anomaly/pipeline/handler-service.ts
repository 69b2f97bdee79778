/**
 * The handler host: the HTTP service the process runtime runs in a handler artifact's release directory (see
 * handler-artifact.ts). It reads handler.json there and loads the handler's extracted module (what schema extraction
 * generated from the handler's schema); every request goes through the module's agent class (`<TypeName>Agent`: its
 * input check against the schema's `communication.inputs` and its `deployment.timeoutMs`), with the scoring the
 * schema's detector configuration asks for, on the same detectors as the monitor (shared/node/anomaly/detection). A
 * module that is missing, is not the handler's (its AGENT.name), or has not exactly one agent class stops the host
 * before it listens, so that the deploy's health check fails.
 *
 *   GET  /health  200 once handler.json parsed and the module loaded
 *   GET  /        the handler: name, pid, environment, metric, anomaly type, and the generated module it serves through
 *   POST /score   { samples: [{ ts, value }] } → { scored, flagged: [ts …], peakScore }: a fresh ensemble per request,
 *                 fed the samples in order (what comes first warms it up), so the same request always scores the same
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { z } from 'zod';
import { metricSampleSchema, type MetricSample } from '../../../contract/anomaly/pipeline';
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

/** What the host needs of a generated module (shared/node/extraction/generators/typescript-module.ts). */
const generatedModuleSchema = z.object({
  AGENT: z.object({ name: z.string(), slug: z.string(), schemaVersion: z.string(), schemaSha256: z.string() }),
  DEPLOYMENT: z.object({ timeoutMs: z.number().int().positive() }),
});

/** The generated agent class: built on a handler function, it checks each input and enforces the timeout. */
type GeneratedAgentClass = new (handler: (input: { batch: { samples: MetricSample[] } }) => Promise<ScoreResponse>) => {
  handle(input: unknown): Promise<ScoreResponse>;
};

/** The handler's generated module, loaded: its identity, and its agent built on the handler's scoring. */
export interface LoadedHandler {
  handler: HandlerFile;
  generated: { module: string; agent: string; schemaVersion: string; schemaSha256: string; timeoutMs: number };
  agent: { handle(input: unknown): Promise<ScoreResponse> };
}

/** Why a release cannot be served (the host exits with it before listening). */
export class HandlerModuleError extends Error {
  override name = 'HandlerModuleError';
}

/**
 * Loads the extracted module that handler.json names, from `releaseDir`, and builds its agent class on the handler's
 * scoring.
 */
export function loadHandler(releaseDir: string, handler: HandlerFile): LoadedHandler {
  const file = path.resolve(releaseDir, handler.module);
  if (!fs.existsSync(file)) throw new HandlerModuleError(`${handler.module}: the extracted module is missing from the release; extract the handler again`);
  // The host runs under tsx (handlerStartCommand), so the generated TypeScript loads as it was extracted.
  const loaded = require(file) as Record<string, unknown>;
  const shape = generatedModuleSchema.safeParse(loaded);
  if (!shape.success) throw new HandlerModuleError(`${handler.module} is not a module schema extraction generated:\n${formatIssues(issuesFromZod(shape.error))}`);
  const { AGENT, DEPLOYMENT } = shape.data;
  if (AGENT.name !== handler.name) throw new HandlerModuleError(`${handler.module} is the module of ${AGENT.name}, not of ${handler.name}; extract the handler again`);
  // The extractor exports one class, `<TypeName>Agent` (its functions are named otherwise).
  const classes = Object.entries(loaded).filter(([name, value]) => typeof value === 'function' && /^[A-Z][A-Za-z0-9]*Agent$/.test(name));
  if (classes.length !== 1) throw new HandlerModuleError(`${handler.module} exports ${classes.length} agent classes (<TypeName>Agent), not 1; extract the handler again`);
  const [className, AgentClass] = classes[0];
  const agent = new (AgentClass as GeneratedAgentClass)(async (input) => scoreSamples(handler, input.batch.samples));
  return {
    handler,
    generated: { module: handler.module, agent: className, schemaVersion: AGENT.schemaVersion, schemaSha256: AGENT.schemaSha256, timeoutMs: DEPLOYMENT.timeoutMs },
    agent,
  };
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

/** The generated agent throws plain errors: its input check's and its timeout's say which they are. */
function statusOf(error: Error): number {
  if (error.message.includes(': invalid input: ')) return 400;
  if (error.message.includes(': no answer within ')) return 504;
  return 500;
}

/** The host's HTTP server for a loaded handler (not listening yet). */
export function serveHandler({ handler, generated, agent }: LoadedHandler): http.Server {
  const about = {
    name: handler.name,
    pid: process.pid,
    environment: process.env.SERVICE_ENVIRONMENT ?? null,
    metric: handler.schema.metadata.handler.metric,
    anomalyType: handler.schema.metadata.handler.anomalyType,
    extractionWorkflowId: handler.extractionWorkflowId,
    generated,
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
        // Through the generated agent: its input check, then the scoring, within its deployment.timeoutMs.
        return answer(response, 200, await agent.handle({ batch: { samples: parsed.data.samples } }));
      }
      return answer(response, 404, { error: `no ${request.method} ${request.url}: GET /health, GET /, POST /score` });
    })().catch((error: Error) => answer(response, statusOf(error), { error: error.message }));
  });
}

function main(): void {
  const logger = createLogger('anomaly-handler', process.env.LOG_LEVEL ?? 'info');
  const parsed = handlerFileSchema.safeParse(JSON.parse(fs.readFileSync(HANDLER_FILE, 'utf8')));
  if (!parsed.success) {
    logger.error(`${HANDLER_FILE} is not a handler:\n${formatIssues(issuesFromZod(parsed.error))}`);
    process.exit(1);
  }
  let loaded: LoadedHandler;
  try {
    loaded = loadHandler(process.cwd(), parsed.data);
  } catch (error) {
    logger.error({ module: parsed.data.module }, `the handler's module cannot be served: ${(error as Error).message}`);
    process.exit(1);
  }
  const port = Number(process.env.PORT);
  serveHandler(loaded).listen(port, process.env.HOST ?? '127.0.0.1', () => logger.info({ port, handler: parsed.data.name, module: loaded.generated.module }, 'handler serving'));
  process.on('SIGTERM', () => process.exit(0));
}

if (require.main === module) main();
