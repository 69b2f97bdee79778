import { z } from 'zod';
import { formatSchemaIssues, validateSchemaSet } from '../../shared/contract/extraction/validate';
import { schemaSha256 } from '../../shared/node/extraction/hashing';
import { invalidInput } from '../capabilities/capability';
import { defineBuiltIn } from '../capabilities/define';
import { extractOne } from './extract';

/** What an `extract` task's input holds. */
const extractTaskInput = z.object({
  schema: z.record(z.string(), z.unknown(), 'give the agent schema as a mapping (name, version, kind, ...)'),
  strict: z.boolean().default(false),
});

const upstreamOutput = z.object({ agent: z.string(), outputSha256: z.string().regex(/^[0-9a-f]{64}$/) });

const extractTaskOutput = z.object({
  agent: z.string(),
  cached: z.boolean(),
  cacheKey: z.string(),
  outputSha256: z.string(),
  artifacts: z.array(z.object({ path: z.string(), kind: z.string(), sha256: z.string(), bytes: z.number().int() })),
});
export type ExtractTaskOutput = z.output<typeof extractTaskOutput>;

/**
 * `extract` as a delivery-plan capability: a task `{ capability: extract, input: { schema: {...} } }`
 * validates and extracts one agent. Its dependencies must be extracted by upstream `extract` tasks
 * (the task's dependsOn); their output hashes go into its cache key, as in `schemaExtraction`.
 * A schema that needs a breaking migration is refused: that needs the approval gate of
 * `ados extract`.
 */
export const extract = defineBuiltIn('extract', {
  version: '1.0.0',
  input: extractTaskInput,
  output: extractTaskOutput,
  handler: async (input, { request, db, logger }) => {
    const report = validateSchemaSet([{ file: `input.schema`, document: input.schema }], { strict: input.strict });
    const analyzed = report.schemas[0];
    // Dependencies come from upstream tasks here, not from the set: the set-level "unknown agent" check does not apply.
    const blocking = report.issues.filter(
      (i) => (i.severity === 'error' || input.strict) && !(i.layer === 'dependencies' && /^dependsOn\[\d+\]$/.test(i.path) && i.message.startsWith('unknown agent')),
    );
    if (blocking.length > 0 || !analyzed.schema) {
      throw invalidInput('extract', request.taskId, formatSchemaIssues(blocking.map((i) => ({ ...i, path: `schema.${i.path}` }))));
    }
    const breaking = analyzed.migrations.find((m) => m.breaking);
    if (breaking) {
      throw invalidInput(
        'extract',
        request.taskId,
        `input.schema.version: ${analyzed.originalVersion} needs the breaking migration ${breaking.from} → ${breaking.to}, which waits for a human approval: run it with \`ados extract --approvers ...\` or migrate the schema first`,
      );
    }
    const schema = analyzed.schema;
    const available = new Map<string, string>();
    for (const output of Object.values(request.upstream)) {
      const parsed = upstreamOutput.safeParse(output);
      if (parsed.success) available.set(parsed.data.agent, parsed.data.outputSha256);
    }
    const dependencies: Record<string, string> = {};
    schema.dependsOn.forEach((name, index) => {
      const hash = available.get(name);
      if (!hash) {
        throw invalidInput(
          'extract',
          request.taskId,
          `input.schema.dependsOn[${index}]: "${name}" is not extracted by an upstream task (upstream agents: ${[...available.keys()].join(', ') || 'none'}); add the extract task of "${name}" to this task's dependsOn`,
        );
      }
      dependencies[name] = hash;
    });
    const result = await extractOne(
      { db, logger, workerIdentity: '' },
      { tenantId: request.tenantId, createdBy: request.workflowId, agent: schema, schemaSha256: schemaSha256(schema), dependencies, simulatedWorkMs: 0 },
    );
    return { agent: schema.name, ...result };
  },
});
