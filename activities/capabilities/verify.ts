import { z } from 'zod';
import { invalidInput } from './capability';
import { defineBuiltIn } from './define';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

const verifyInput = z.object({
  /** A health endpoint to call; loopback only, since verification runs beside the release. */
  healthUrl: z.url('must be a URL such as http://127.0.0.1:8080/health').optional(),
  expectStatus: z.number().int().min(100).max(599).default(200),
  timeoutMs: z.number().int().positive().max(60_000).default(5_000),
});

const verifyOutput = z.object({
  environment: z.string(),
  releaseId: z.string(),
  sha256: z.string(),
  health: z.object({ url: z.string(), status: z.number().int() }).optional(),
});
export type VerifyOutput = z.output<typeof verifyOutput>;

/** `verify`: checks that the run's release to this environment is recorded and, when given, its health endpoint. */
export const verify = defineBuiltIn('verify', {
  version: '1.0.0',
  input: verifyInput,
  output: verifyOutput,
  handler: async (input, { request, db, heartbeat, signal }) => {
    const release = await db
      .selectFrom('releases')
      .select(['id', 'artifact_sha256'])
      .where('workflow_id', '=', request.workflowId)
      .where('environment', '=', request.environment)
      .executeTakeFirst();
    if (!release) {
      // Retryable: the deploy may land from another path; after the retries the run reports it.
      throw new Error(`no release recorded for ${request.workflowId} in ${request.environment}: make verify depend on a deploy task`);
    }
    const output: VerifyOutput = { environment: request.environment, releaseId: release.id, sha256: release.artifact_sha256 };
    if (input.healthUrl) {
      const url = new URL(input.healthUrl);
      if (!LOOPBACK_HOSTS.has(url.hostname)) {
        throw invalidInput('verify', request.taskId, `input.healthUrl: host "${url.hostname}" is not loopback (use 127.0.0.1 or localhost)`);
      }
      heartbeat({ phase: 'health-check', url: input.healthUrl });
      const response = await fetch(input.healthUrl, { signal: AbortSignal.any([signal, AbortSignal.timeout(input.timeoutMs)]) });
      if (response.status !== input.expectStatus) {
        throw new Error(`health check ${input.healthUrl} answered ${response.status}, expected ${input.expectStatus}`);
      }
      output.health = { url: input.healthUrl, status: response.status };
    }
    return output;
  },
});
