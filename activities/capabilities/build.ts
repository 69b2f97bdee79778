import { createHash } from 'node:crypto';
import { z } from 'zod';
import { invalidInput } from './capability';
import { defineBuiltIn } from './define';

const buildInput = z.object({
  name: z.string().min(1).default('artifact'),
  template: z.string().min(1, 'give the template text to render').default('{{name}} built for {{environment}}\n'),
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});

const buildOutput = z.object({
  artifact: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  content: z.string(),
});
export type BuildOutput = z.output<typeof buildOutput>;

/** Renders `{{variable}}` placeholders; an unknown placeholder is an input error, not an empty string. */
export function renderTemplate(template: string, variables: Record<string, string | number | boolean>): { text: string; missing: string[] } {
  const missing: string[] = [];
  const text = template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, key: string) => {
    // Own keys only: `in` would also find Object.prototype members such as {{constructor}}.
    if (!Object.prototype.hasOwnProperty.call(variables, key)) {
      if (!missing.includes(key)) missing.push(key);
      return '';
    }
    return String(variables[key]);
  });
  return { text, missing };
}

/** `build`: renders `input.template` with the task's variables and content-hashes the artifact. */
export const build = defineBuiltIn('build', {
  version: '1.0.0',
  input: buildInput,
  output: buildOutput,
  handler: async (input, { request }) => {
    const variables = { name: input.name, environment: request.environment, tenant: request.tenantId, run: request.runId, ...input.variables };
    const { text, missing } = renderTemplate(input.template, variables);
    if (missing.length > 0) {
      throw invalidInput('build', request.taskId, `input.template uses unknown variable(s) ${missing.join(', ')}; add them to input.variables`);
    }
    return {
      artifact: `${input.name}@${request.environment}`,
      sha256: createHash('sha256').update(text).digest('hex'),
      bytes: Buffer.byteLength(text),
      content: text,
    };
  },
});
