import { z } from 'zod';
import { invalidInput } from './capability';
import { defineBuiltIn } from './define';

const deployInput = z.object({
  /** The upstream task whose artifact to release; by default the only upstream build. */
  artifactFrom: z.string().optional(),
});

const artifactShape = z.object({ artifact: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

const deployOutput = z.object({
  releaseId: z.string(),
  environment: z.string(),
  artifact: z.string(),
  sha256: z.string(),
  /** False when this run had already released to this environment (a retry or a replay). */
  created: z.boolean(),
});
export type DeployOutput = z.output<typeof deployOutput>;

/** `deploy`: records a release for (run, environment), once: a retried attempt returns the same release. */
export const deploy = defineBuiltIn('deploy', {
  version: '1.0.0',
  input: deployInput,
  output: deployOutput,
  handler: async (input, { request, db }) => {
    const candidates = Object.entries(request.upstream).filter(([, output]) => artifactShape.safeParse(output).success);
    const chosen = input.artifactFrom
      ? candidates.find(([taskId]) => taskId === input.artifactFrom)
      : candidates.length === 1
        ? candidates[0]
        : undefined;
    if (!chosen) {
      const found = candidates.map(([taskId]) => taskId).join(', ') || 'none';
      throw invalidInput(
        'deploy',
        request.taskId,
        input.artifactFrom
          ? `input.artifactFrom: "${input.artifactFrom}" is not an upstream task with an artifact (upstream artifacts: ${found})`
          : `depend on exactly one task that produces an artifact, or set input.artifactFrom (upstream artifacts: ${found})`,
      );
    }
    const artifact = artifactShape.parse(chosen[1]);
    const inserted = await db
      .insertInto('releases')
      .values({
        tenant_id: request.tenantId,
        workflow_id: request.workflowId,
        environment: request.environment,
        artifact: artifact.artifact,
        artifact_sha256: artifact.sha256,
        released_by: request.taskId,
      })
      .onConflict((oc) => oc.columns(['workflow_id', 'environment']).doNothing())
      .returning('id')
      .executeTakeFirst();
    const release = await db
      .selectFrom('releases')
      .select(['id', 'artifact', 'artifact_sha256'])
      .where('workflow_id', '=', request.workflowId)
      .where('environment', '=', request.environment)
      .executeTakeFirstOrThrow();
    return {
      releaseId: release.id,
      environment: request.environment,
      artifact: release.artifact,
      sha256: release.artifact_sha256,
      created: inserted !== undefined,
    };
  },
});
