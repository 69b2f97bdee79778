/**
 * A plan's task inputs checked against their capabilities' input JSON Schemas (from the workers' registrations)
 * before the run starts, so that a bad input is refused with its JSON path (`plan.tasks[2].input.argv[0]: …`) rather
 * than failing a task minutes later. The worker checks again with the capability's own zod schema.
 */
import { z } from 'zod';
import { jsonPath, type ValidationIssue } from '../validation';
import type { PlanTask } from './input';

/** Input JSON Schemas by capability name. */
export type InputSchemas = Readonly<Record<string, Record<string, unknown>>>;

/** Every way a task's input breaks its capability's schema; capabilities without a schema are not checked here. */
export function taskInputIssues(tasks: readonly Pick<PlanTask, 'capability' | 'input'>[], schemas: InputSchemas): ValidationIssue[] {
  const validators = new Map<string, z.ZodType | undefined>();
  const validatorFor = (capability: string): z.ZodType | undefined => {
    if (!validators.has(capability)) {
      const schema = Object.prototype.hasOwnProperty.call(schemas, capability) ? schemas[capability] : undefined;
      let validator: z.ZodType | undefined;
      try {
        validator = schema ? z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]) : undefined;
      } catch {
        // A schema zod cannot read back is not a plan's fault: the worker's own zod schema still checks the input.
        validator = undefined;
      }
      validators.set(capability, validator);
    }
    return validators.get(capability);
  };
  const issues: ValidationIssue[] = [];
  tasks.forEach((task, index) => {
    const parsed = validatorFor(task.capability)?.safeParse(task.input);
    if (!parsed || parsed.success) return;
    for (const issue of parsed.error.issues) {
      const inner = issue.path.length === 0 ? '' : jsonPath(issue.path);
      const path = `plan.tasks[${index}].input${inner === '' ? '' : inner.startsWith('[') ? inner : `.${inner}`}`;
      issues.push({ path, message: `${issue.message} (capability ${task.capability})` });
    }
  });
  return issues;
}
