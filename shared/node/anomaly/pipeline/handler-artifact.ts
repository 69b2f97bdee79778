/**
 * A generated handler as the process runtime deploys it: a directory with `handler.json` (the agent's name, its
 * schema, the extraction it came from and where its extracted module is), the extracted artifacts (module, test,
 * manifest, README), and the command that serves it: the handler host (handler-service.ts) run by the Node running
 * ADOS through tsx, in the release directory, where it reads handler.json and loads the extracted module, whose agent
 * class every request goes through. The directory's content hash is the release, so the same handler deploys to stage
 * and prod as the same release.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ensembleConfigSchema } from '../../../contract/anomaly/detection';
import { ANOMALY_SEVERITIES, ANOMALY_TYPES } from '../../../contract/anomaly/pipeline';

/** The file of a handler artifact the service reads at start. */
export const HANDLER_FILE = 'handler.json';

/** What handler.json holds; the service refuses to start on anything else, naming the field. */
export const handlerFileSchema = z.object({
  name: z.string().min(1),
  tenantId: z.string().min(1),
  extractionWorkflowId: z.string().min(1),
  /** The extracted TypeScript module (`extracted/<agent-slug>/index.ts`), relative to the release directory. */
  module: z.string().regex(/^extracted\/[^/]+\/[^/]+\.ts$/, 'extracted/<agent-slug>/<file>.ts'),
  schema: z.object({
    name: z.string(),
    metadata: z.object({
      handler: z.object({
        metric: z.string(),
        anomalyType: z.enum(ANOMALY_TYPES),
        affectedMetrics: z.array(z.string()),
        firstObserved: z.string(),
        severity: z.enum(ANOMALY_SEVERITIES),
        detection: ensembleConfigSchema,
      }),
    }),
  }),
});
export type HandlerFile = z.infer<typeof handlerFileSchema>;

export interface HandlerArtifactInput {
  name: string;
  tenantId: string;
  extractionWorkflowId: string;
  /** The handler's agent schema, as extracted. */
  schema: Record<string, unknown>;
  /** The extracted files by their path (`<agent-slug>/<file>`). */
  files: ReadonlyMap<string, string>;
  /** Which of `files` is the agent's module (the extraction's `module` artifact). */
  module: string;
}

/** Writes the artifact directory `dir` (replacing what was there); deterministic content, so equal handlers hash equal. */
export function writeHandlerArtifact(dir: string, input: HandlerArtifactInput): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  if (!input.files.has(input.module)) throw new Error(`the extracted module ${input.module} is not among the extracted files`);
  const handler = { name: input.name, tenantId: input.tenantId, extractionWorkflowId: input.extractionWorkflowId, module: `extracted/${input.module}`, schema: input.schema };
  // Checked here so a bad schema is refused by the deploy, not found by a service that will not start.
  handlerFileSchema.parse(handler);
  fs.writeFileSync(path.join(dir, HANDLER_FILE), `${JSON.stringify(handler, null, 2)}\n`);
  for (const [file, content] of [...input.files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const target = path.join(dir, 'extracted', file);
    if (!target.startsWith(path.join(dir, 'extracted') + path.sep)) throw new Error(`extracted artifact path "${file}" leaves the artifact directory`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
  }
}

/** The command that serves a handler artifact: `node --import <tsx> <handler-service.ts>` (the runtime's "node"). */
export function handlerStartCommand(): string[] {
  return ['node', '--import', require.resolve('tsx'), path.join(__dirname, 'handler-service.ts')];
}
