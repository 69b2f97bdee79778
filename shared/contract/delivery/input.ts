import { z } from 'zod';
import { approvalPolicySchema } from '../approval';
import { durationSchema } from '../duration';
import { capabilitySpec, KNOWN_CAPABILITIES } from '../capabilities';
import { CAPABILITY_NAME, CAPABILITY_NAME_HINT, capabilitySpecSchema, lookupAlternates, lookupCapability } from '../capability-spec';
import { findCycle, findUnknownDependencies, formatCycle } from '../graph';
import { didYouMean, issuesFromZod, listNames, type Validated, type ValidationIssue } from '../validation';
import { RUN_ID_PATTERN, TENANT_ID_PATTERN } from '../workflow-ids';

export const ENVIRONMENTS = ['dev', 'stage', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const DEFAULT_MAX_PARALLEL = 4;

const idText = (what: string) =>
  z
    .string()
    .min(1, `${what} cannot be empty`)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, `${what} may hold letters, digits, "_", "." and "-" only`);

export const goalSchema = z.object({
  type: z.enum(['analyze', 'build', 'deploy', 'fix', 'migrate']),
  complexity: z.enum(['low', 'medium', 'high']),
  risk: z.enum(['low', 'medium', 'high']),
  maxCost: z.number().nonnegative('must be zero or more'),
});

export const taskRetrySchema = z.object({
  maximumAttempts: z.number().int().min(1, 'must be at least 1').max(100).optional(),
  initialIntervalSeconds: z.number().positive().optional(),
  backoffCoefficient: z.number().min(1, 'must be at least 1').optional(),
  maximumIntervalSeconds: z.number().positive().optional(),
});

/** An optional timeout in whole seconds. */
const wholeSeconds = () => z.number().int('must be a positive whole number of seconds').positive('must be a positive whole number of seconds').optional();

export const planTaskSchema = z.object({
  id: idText('a task id'),
  capability: z.string().min(1, 'name the capability this task needs'),
  input: z.record(z.string(), z.unknown()).default({}),
  dependsOn: z.array(z.string()).default([]),
  timeoutSeconds: wholeSeconds(),
  /** How long the task may wait for a worker before the run reports it and escalates (default: the capability's). */
  scheduleToStartTimeoutSeconds: wholeSeconds(),
  /**
   * How long a silent worker may hold the task before another takes over from its last checkpoint (default: the
   * capability's). Shorter means faster failover and more heartbeats.
   */
  heartbeatTimeoutSeconds: wholeSeconds(),
  retry: taskRetrySchema.optional(),
  /**
   * The agent whose task slots the task takes (the tenant gate's `agent:<name>`, at most
   * limits.maxConcurrentTasksPerAgent at once per tenant); default: the task's capability (taskAgent).
   */
  agent: idText('an agent name').optional(),
});
export type PlanTask = z.output<typeof planTaskSchema>;

/** The agent whose slots a task takes: its own `agent`, or its capability. */
export function taskAgent(task: Pick<PlanTask, 'agent' | 'capability'>): string {
  return task.agent ?? task.capability;
}

export const planSchema = z.object({
  tasks: z.array(planTaskSchema).min(1, 'a plan needs at least one task'),
});

const deliveryRunShape = z.object({
  tenantId: z
    .string()
    .regex(TENANT_ID_PATTERN, 'use lowercase letters, digits and "_" (no dashes), starting with a letter or digit'),
  runId: z
    .string()
    .regex(RUN_ID_PATTERN, 'use letters, digits, "_", "." and "-" (up to 128), starting with a letter or digit'),
  requestedBy: z.string().min(1, 'say who requests the run'),
  goal: goalSchema,
  plan: planSchema,
  environments: z.array(z.enum(ENVIRONMENTS)).min(1, 'list at least one environment').default(['dev', 'stage', 'prod']),
  approval: approvalPolicySchema.optional(),
  maxParallel: z.number().int().min(1, 'must be at least 1').max(64, 'must be at most 64').default(DEFAULT_MAX_PARALLEL),
  /**
   * The run's priority within its tenant, 1-10 (higher first in the tenant gate's queues; 3 or less waits at
   * backpressure critical); default: the tenant's limits.priority.
   */
  priority: z.number().int('must be a whole number from 1 to 10').min(1, 'must be a whole number from 1 to 10').max(10, 'must be a whole number from 1 to 10').optional(),
  /**
   * How long a task escalated to a human waits for `ados resolve` before it fails (default
   * DEFAULT_ESCALATION_TIMEOUT). Optional without a schema default, so the parsed input of runs started before the
   * escalation ladder existed is unchanged.
   */
  escalationTimeout: durationSchema.optional(),
  /**
   * The specs of the plugin capabilities the plan names (and their alternates), filled by the client from the
   * workers' registrations: how the workflow schedules a capability it has no registry entry for.
   */
  capabilities: z.record(z.string().regex(CAPABILITY_NAME, CAPABILITY_NAME_HINT), capabilitySpecSchema).optional(),
});

export type DeliveryRunInput = z.input<typeof deliveryRunShape>;
export type DeliveryRun = z.output<typeof deliveryRunShape>;

/** Rules that need the whole input: graph shape, known capabilities, environment order, approval. */
function crossFieldIssues(run: DeliveryRun, givenKnown: readonly string[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const tasks = run.plan.tasks;
  const plugins = run.capabilities ?? {};
  const knownCapabilities = [...givenKnown, ...Object.keys(plugins).filter((name) => !givenKnown.includes(name))];

  for (const [name, spec] of Object.entries(plugins)) {
    if (capabilitySpec(name)) {
      issues.push({ path: `capabilities.${name}`, message: `"${name}" is a built-in capability: its spec comes from ADOS, leave it out of capabilities` });
    }
    (spec.alternates ?? []).forEach((alternate, index) => {
      if (!lookupCapability(alternate, plugins)) {
        issues.push({ path: `capabilities.${name}.alternates[${index}]`, message: `unknown capability "${alternate}": add its spec to capabilities, or drop the alternate` });
      }
    });
  }

  const firstIndex = new Map<string, number>();
  tasks.forEach((task, index) => {
    const earlier = firstIndex.get(task.id);
    if (earlier !== undefined) {
      issues.push({ path: `plan.tasks[${index}].id`, message: `duplicate task id "${task.id}" (also plan.tasks[${earlier}])` });
    } else firstIndex.set(task.id, index);
  });

  tasks.forEach((task, index) => {
    if (!knownCapabilities.includes(task.capability)) {
      issues.push({
        path: `plan.tasks[${index}].capability`,
        message: `unknown capability "${task.capability}"${didYouMean(task.capability, knownCapabilities)}; known: ${listNames(knownCapabilities)}`,
      });
    }
    // The override applies to every variant the ladder may swap to, so it must fit the shortest attempt.
    const variants = [task.capability, ...lookupAlternates(task.capability, plugins)]
      .map((name) => lookupCapability(name, plugins))
      .filter((spec) => spec !== undefined);
    const attemptSeconds = task.timeoutSeconds ?? (variants.length > 0 ? Math.min(...variants.map((spec) => spec.startToCloseTimeoutSeconds)) : undefined);
    if (task.heartbeatTimeoutSeconds !== undefined && attemptSeconds !== undefined && task.heartbeatTimeoutSeconds >= attemptSeconds) {
      issues.push({
        path: `plan.tasks[${index}].heartbeatTimeoutSeconds`,
        message: `${task.heartbeatTimeoutSeconds} s is not shorter than the attempt's timeout (${attemptSeconds} s${task.timeoutSeconds === undefined ? `, the ${task.capability} default` : ''}): a dead worker would only be noticed when the attempt times out; give less than ${attemptSeconds}, or raise timeoutSeconds`,
      });
    }
  });

  const knownIds = [...firstIndex.keys()];
  for (const unknown of findUnknownDependencies(tasks)) {
    issues.push({
      path: `plan.tasks[${unknown.nodeIndex}].dependsOn[${unknown.index}]`,
      message: `unknown task "${unknown.dependency}"${didYouMean(unknown.dependency, knownIds)}; tasks in this plan: ${listNames(knownIds)}`,
    });
  }

  const cycle = findCycle(tasks);
  if (cycle) {
    issues.push({ path: 'plan.tasks', message: `dependency cycle: ${formatCycle(cycle)} (each depends on the next)` });
  }

  const order = run.environments.map((env) => ENVIRONMENTS.indexOf(env));
  const inOrder = order.every((position, i) => i === 0 || position > order[i - 1]);
  if (!inOrder) {
    issues.push({
      path: 'environments',
      message: `list each environment once, in the order ${ENVIRONMENTS.join(' → ')} (got ${run.environments.join(', ')})`,
    });
  }

  if (run.environments.includes('prod')) {
    if (!run.approval) {
      issues.push({ path: 'approval', message: 'required when environments include prod: give approvers (and optionally quorum, timeout)' });
    } else {
      const eligible = new Set(run.approval.approvers.filter((a) => a !== run.requestedBy && !(run.approval?.authors ?? []).includes(a)));
      if (run.approval.quorum > eligible.size) {
        issues.push({
          path: 'approval.quorum',
          message: `quorum ${run.approval.quorum} can never be met: only ${eligible.size} distinct approver(s) other than the requester "${run.requestedBy}"`,
        });
      }
    }
  }
  return issues;
}

/**
 * Validates a delivery run request. Used by the client before a workflow starts and again at
 * workflow entry (so a run started by any other client is refused with the same messages). A task's capability
 * must be one of `knownCapabilities` (the built-ins by default) or in the run's `capabilities`.
 */
export function validateDeliveryRunInput(
  raw: unknown,
  knownCapabilities: readonly string[] = KNOWN_CAPABILITIES,
): Validated<DeliveryRun> {
  const parsed = deliveryRunShape.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  const issues = crossFieldIssues(parsed.data, knownCapabilities);
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: parsed.data };
}
