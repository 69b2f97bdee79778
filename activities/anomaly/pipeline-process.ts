/**
 * The anomaly pipeline's actions on its handler's processes, through the process runtime behind deploy.process (so
 * they are served on deploy.process's queue, on the machine that holds the processes): deploy the extracted handler
 * to an environment as a real process on a loopback port, send it samples to score, and remove it (stopped, and
 * checked gone by pid).
 */
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { HandlerDeployment, HandlerEnvironment, MetricSample } from '../../shared/contract/anomaly/pipeline';
import type { ArtifactRef } from '../../shared/contract/extraction/messages';
import { InputValidationError } from '../../shared/contract/validation';
import { handlerStartCommand, writeHandlerArtifact } from '../../shared/node/anomaly/pipeline/handler-artifact';
import type { ScoreResponse } from '../../shared/node/anomaly/pipeline/handler-service';
import { loadConfig } from '../../shared/node/config';
import type { Db } from '../../shared/node/db';
import { processAlive } from '../../shared/node/process/process-group';
import { HealthCheckFailedError, processRuntime, type EnvironmentRef } from '../../shared/node/runtime';
import { freeLoopbackPort, waitUntil } from '../../shared/node/runtime/processes';

/** Where a handler runs: the tenant, its service name (the handler's slug) and the environment. */
export interface HandlerTarget {
  tenantId: string;
  service: string;
  environment: HandlerEnvironment;
}

export interface DeployHandlerInput extends HandlerTarget {
  workflowId: string;
  name: string;
  extractionWorkflowId: string;
  schema: Record<string, unknown>;
  /** The extraction's artifacts of the handler agent (their contents are in extraction_artifacts). */
  artifacts: ArtifactRef[];
}

const refOf = (target: HandlerTarget): EnvironmentRef => ({ tenant: target.tenantId, service: target.service, environment: target.environment });

/** A deploy the input makes impossible (a bad handler, missing artifacts) or a handler that never became healthy. */
function nonRetryable(error: unknown): unknown {
  if (error instanceof InputValidationError) {
    return ApplicationFailure.create({ type: 'HandlerDeployInvalid', message: error.issues.map((i) => `${i.path}: ${i.message}`).join('; '), nonRetryable: true });
  }
  if (error instanceof HealthCheckFailedError) return ApplicationFailure.create({ type: 'HandlerUnhealthy', message: error.message, nonRetryable: true });
  return error;
}

/** The artifacts' contents by path, from the extraction's content-addressed store. */
async function extractedFiles(db: Db, artifacts: readonly ArtifactRef[]): Promise<Map<string, string>> {
  const hashes = [...new Set(artifacts.map((a) => a.sha256))];
  const rows = hashes.length > 0 ? await db.selectFrom('extraction_artifacts').select(['sha256', 'content']).where('sha256', 'in', hashes).execute() : [];
  const content = new Map(rows.map((r) => [r.sha256, r.content]));
  const missing = artifacts.filter((a) => !content.has(a.sha256));
  if (missing.length > 0) {
    throw ApplicationFailure.create({ type: 'HandlerDeployInvalid', message: `extracted artifacts missing: ${missing.map((a) => a.path).join(', ')} (extract the handler again)`, nonRetryable: true });
  }
  return new Map(artifacts.map((a) => [a.path, content.get(a.sha256) as string]));
}

/** The path of the extraction's module artifact: the code the handler host loads and serves through. */
function extractedModule(artifacts: readonly ArtifactRef[]): string {
  const modules = artifacts.filter((a) => a.kind === 'module');
  if (modules.length !== 1) {
    throw ApplicationFailure.create({ type: 'HandlerDeployInvalid', message: `the extraction gave ${modules.length} module artifacts for the handler, not 1 (extract the handler again)`, nonRetryable: true });
  }
  return modules[0].path;
}

export function createPipelineProcessActivities(deps: { db: Db }) {
  const runtime = () => processRuntime(loadConfig());
  return {
    /**
     * Writes the handler's artifact directory and deploys it with the process runtime (blue/green, health-checked):
     * the environment's port is kept from an earlier deploy, else a free loopback port.
     */
    async deployHandler(input: DeployHandlerInput): Promise<HandlerDeployment> {
      const config = loadConfig();
      const rt = runtime();
      const ref = refOf(input);
      const artifactDir = path.join(path.resolve(config.dataDir), 'anomaly-handlers', input.tenantId, input.service, input.environment);
      writeHandlerArtifact(artifactDir, {
        name: input.name,
        tenantId: input.tenantId,
        extractionWorkflowId: input.extractionWorkflowId,
        schema: input.schema,
        files: await extractedFiles(deps.db, input.artifacts),
        module: extractedModule(input.artifacts),
      });
      const known = rt.listEnvironments(ref).length > 0 ? rt.status(ref).port : undefined;
      const context = Context.current();
      try {
        const result = await rt.deploy(
          ref,
          {
            artifactDir,
            start: handlerStartCommand(),
            port: known ?? (await freeLoopbackPort()),
            env: { SERVICE_ENVIRONMENT: input.environment },
            health: { path: '/health', expectStatus: 200, timeoutMs: 60_000 },
            stopGraceMs: 2_000,
            deployedBy: input.workflowId,
          },
          { onProgress: (phase) => context.heartbeat({ phase }), signal: context.cancellationSignal },
        );
        return { environment: input.environment, service: input.service, release: result.release, url: result.url, port: result.port, pid: result.pid, privatePort: result.privatePort };
      } catch (error) {
        throw nonRetryable(error);
      }
    },

    /** Sends the samples to the handler's POST /score through the environment's public port. */
    async scoreWithHandler(input: HandlerTarget & { samples: MetricSample[] }): Promise<ScoreResponse> {
      const { url } = runtime().status(refOf(input));
      const response = await fetch(`${url}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({ samples: input.samples }),
        signal: AbortSignal.timeout(60_000),
      });
      const body = (await response.json()) as ScoreResponse & { error?: string };
      if (!response.ok) throw ApplicationFailure.create({ type: 'HandlerRefused', message: `${url}/score answered ${response.status}: ${body.error}`, nonRetryable: true });
      return body;
    },

    /** Stops the handler's processes and its proxy, and checks the process is gone. */
    async removeHandler(input: HandlerTarget): Promise<{ pid: number; stopped: boolean }> {
      const rt = runtime();
      const ref = refOf(input);
      const pid = rt.status(ref).process?.pid ?? 0;
      await rt.stop(ref);
      const stopped = pid === 0 || (await waitUntil(() => !processAlive(pid), 10_000, 50));
      return { pid, stopped };
    },
  };
}

export type PipelineProcessActivities = ReturnType<typeof createPipelineProcessActivities>;
