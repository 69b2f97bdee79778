import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { ENVIRONMENTS } from '../../shared/contract/delivery/input';
import { InputValidationError } from '../../shared/contract/validation';
import { loadConfig } from '../../shared/node/config';
import { DEFAULT_HTTP_ALLOWED_HOSTS, HostAllowlist, parseAllowedHosts } from '../../shared/node/http/allowed-hosts';
import { HealthCheckFailedError, processRuntime } from '../../shared/node/runtime';
import { invalidInput } from './capability';
import { defineBuiltIn } from './define';

/** The loopback hosts (the default of ADOS_HTTP_ALLOWED_HOSTS): where deploy.process and verify.http check services. */
export const LOOPBACK = new HostAllowlist(parseAllowedHosts(DEFAULT_HTTP_ALLOWED_HOSTS).entries);

/** A service name: it becomes a directory of the runtime (`<tenant>/<service>/<environment>`). */
export const serviceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a service name: lowercase letters, digits, "_" or "-", starting with a letter or digit');

const port = z.number().int('a whole port number').min(1024, 'a port from 1024 to 65535').max(65535, 'a port from 1024 to 65535');

/**
 * `health.url`: a path (`/health`), or a loopback URL without a port (`http://127.0.0.1/health`): the check runs on
 * this machine, against the port ADOS gives the new release, before any traffic reaches it.
 */
export function healthPath(url: string): { path?: string; problem?: string } {
  if (url.startsWith('/')) return { path: url };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { problem: `"${url}" is neither a path such as /health nor a URL` };
  }
  if (parsed.protocol !== 'http:') return { problem: `"${url}": deploy.process checks health over http://` };
  if (!LOOPBACK.allows(parsed.hostname)) {
    return { problem: `host "${parsed.hostname}" is not loopback: deploy.process checks the release it starts on this machine; give a path such as /health or http://127.0.0.1/health` };
  }
  if (parsed.port) return { problem: `leave the port out of "${url}": ADOS gives each release its own private port and checks it there` };
  return { path: `${parsed.pathname}${parsed.search}` };
}

export const deployProcessInput = z.strictObject({
  service: serviceName,
  /** The artifact directory (relative paths from the worker's working directory, the project root under npm start). */
  artifactDir: z.string().min(1, 'the directory to deploy, e.g. examples/service/dist'),
  start: z.array(z.string().min(1, 'a non-empty argument')).min(1, 'the command that starts the service, e.g. ["node", "server.js"]'),
  /** The environment's public loopback port: one number, or one per environment (`{ dev: 18081, stage: 18082 }`). */
  port: z.union([port, z.partialRecord(z.enum(ENVIRONMENTS), port)]),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string()).default({}),
  health: z
    .strictObject({
      url: z.string().default('/health'),
      expectStatus: z.number().int().min(100).max(599).default(200),
      timeoutSeconds: z.number().positive().max(600, 'at most 600 seconds').default(30),
    })
    .default({ url: '/health', expectStatus: 200, timeoutSeconds: 30 })
    .superRefine((health, ctx) => {
      const { problem } = healthPath(health.url);
      if (problem) ctx.addIssue({ code: 'custom', path: ['url'], message: problem });
    }),
  stopGraceSeconds: z.number().min(0).max(120).default(10),
});

export const deployProcessOutput = z.object({
  service: z.string(),
  environment: z.string(),
  release: z.string(),
  previous: z.string().optional(),
  /** False when the same artifact already served here (nothing was started or stopped). */
  changed: z.boolean(),
  url: z.string(),
  port: z.number(),
  pid: z.number(),
  privatePort: z.number(),
  switchMs: z.number().optional(),
});

/** Deploys an artifact directory as a supervised process, blue/green (README, "Deploying with deploy.process"). */
export const deployProcess = defineBuiltIn('deploy.process', {
  version: '1.0.0',
  input: deployProcessInput,
  output: deployProcessOutput,
  handler: async (input, ctx) => {
    const { request } = ctx;
    const environmentPort = typeof input.port === 'number' ? input.port : input.port[request.environment as keyof typeof input.port];
    if (environmentPort === undefined) {
      throw invalidInput('deploy.process', request.taskId, `input.port: no port for environment "${request.environment}"; add ${request.environment}: <port>`);
    }
    const runtime = processRuntime(loadConfig());
    const ref = { tenant: request.tenantId, service: input.service, environment: request.environment };
    try {
      const result = await runtime.deploy(
        ref,
        {
          artifactDir: input.artifactDir,
          start: input.start,
          port: environmentPort,
          env: { ...input.env, SERVICE_ENVIRONMENT: request.environment },
          health: { path: healthPath(input.health.url).path ?? '/health', expectStatus: input.health.expectStatus, timeoutMs: input.health.timeoutSeconds * 1000 },
          stopGraceMs: input.stopGraceSeconds * 1000,
          deployedBy: `${request.workflowId}/${request.taskId}`,
        },
        { onProgress: (phase) => ctx.heartbeat({ phase }), signal: ctx.signal },
      );
      ctx.logger.info({ release: result.release, changed: result.changed, port: result.port, switchMs: result.switchMs }, 'deployed');
      await ctx.db
        .insertInto('releases')
        .values({
          tenant_id: request.tenantId,
          workflow_id: request.workflowId,
          environment: request.environment,
          artifact: `${input.service}:${input.artifactDir}`,
          artifact_sha256: result.release,
          released_by: request.taskId,
        })
        .onConflict((oc) => oc.columns(['workflow_id', 'environment']).doNothing())
        .execute();
      return { service: input.service, environment: request.environment, ...result };
    } catch (error) {
      if (error instanceof InputValidationError) {
        throw invalidInput('deploy.process', request.taskId, error.issues.map((issue) => `input.${issue.path}: ${issue.message}`).join('; '));
      }
      if (error instanceof HealthCheckFailedError) {
        throw ApplicationFailure.create({
          type: 'HealthCheckFailed',
          message: `task "${request.taskId}" (deploy.process): ${error.message}`,
          nonRetryable: true,
          details: [{ release: error.release, stillServing: error.stillServing }],
        });
      }
      throw error;
    }
  },
});
