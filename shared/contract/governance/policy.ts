/**
 * What the governance gates know about actions and the rules they apply (README, "Governance gates"): the actions a
 * run may propose, the ones refused everywhere, the per-environment allowlists, cooldowns, repetition limit and
 * confidence threshold, with the defaults of issue 11 and the few fields a tenant may override.
 */
import { z } from 'zod';
import { ENVIRONMENTS, type Environment } from '../delivery/input';

/** Actions a remediation or a delivery run may carry out. `observe` records and watches; `noop` does nothing. */
export const GOVERNED_ACTIONS = ['restart', 'scale_up', 'scale_down', 'rollback', 'deploy', 'noop', 'observe'] as const;
export type GovernedAction = (typeof GOVERNED_ACTIONS)[number];

/** Actions that change nothing: every gate lets them through. */
export const PASSIVE_ACTIONS: readonly string[] = ['noop', 'observe'];

/**
 * Refused in every environment, for every tenant, whatever the approvals: no policy override reaches this list.
 * Names are matched after lowercasing and turning "-" and spaces into "_" (`Drop Database` is `drop_database`).
 */
export const FORBIDDEN_ACTIONS: readonly string[] = [
  'drop_database',
  'drop_table',
  'truncate_table',
  'delete_backups',
  'delete_audit_log',
  'disable_authentication',
  'disable_authorization',
  'disable_audit',
  'disable_encryption',
  'wipe_volume',
];

/** An action's name as the gates compare it. */
export function normalizeAction(action: string): string {
  return action.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

/** What a cooldown is keyed by: scaling up and down share one, so a flapping service is not scaled back and forth. */
export function cooldownFamily(action: string): string {
  return action === 'scale_up' || action === 'scale_down' ? 'scale' : action;
}

/** An action name in input: letters, digits and "_" (after normalizeAction). */
export const actionNameSchema = z
  .string()
  .min(1, 'name the action, e.g. restart')
  .max(64, 'at most 64 characters')
  .transform(normalizeAction)
  .refine((name) => /^[a-z][a-z0-9_]*$/.test(name), 'an action name: letters, digits and "_", e.g. restart, scale_up');

/** The rules in force for one tenant (the defaults merged with its overrides). */
export interface GovernancePolicy {
  /** Per environment: the actions allowed there ('*': every governed action). */
  allowlists: Record<Environment, readonly string[] | '*'>;
  /** Environments where every non-passive action needs an approval first. Not overridable. */
  approvalRequired: readonly Environment[];
  /** Seconds after an action of a family is carried out before the same family may run again on the same target. */
  cooldownSeconds: Record<string, number>;
  /** The same action on the same target at most `max` times within `windowSeconds`. */
  repetition: { max: number; windowSeconds: number };
  /** Below this confidence an incident's action becomes a noop. */
  confidenceThreshold: number;
}

/** Issue 11's defaults: dev allows everything, stage restart/scale/deploy/noop, prod anything only after approval. */
export const DEFAULT_GOVERNANCE_POLICY: GovernancePolicy = {
  allowlists: { dev: '*', stage: ['restart', 'scale_up', 'scale_down', 'deploy', 'noop', 'observe'], prod: '*' },
  approvalRequired: ['prod'],
  cooldownSeconds: { restart: 60, scale: 120, rollback: 300 },
  repetition: { max: 3, windowSeconds: 300 },
  confidenceThreshold: 0.5,
};

const governedActionSchema = z.enum(GOVERNED_ACTIONS, { message: `one of ${GOVERNED_ACTIONS.join(', ')}` });

/**
 * What a tenant may override (table `governance_policies`). Cooldowns per family (restart, scale, rollback, deploy),
 * the repetition limit, the confidence threshold, and the dev and stage allowlists. Not overridable: the forbidden
 * actions and prod's approval requirement (a tenant may narrow prod's allowlist, never skip its approval).
 */
const seconds = z.number().int('whole seconds').min(0, '0 (no cooldown) or more').max(86_400, 'at most a day (86400)');
const COOLDOWN_FAMILIES = ['restart', 'scale', 'rollback', 'deploy'] as const;

export const governanceOverridesSchema = z.strictObject({
  cooldownSeconds: z
    .strictObject(Object.fromEntries(COOLDOWN_FAMILIES.map((f) => [f, seconds.optional()])) as Record<(typeof COOLDOWN_FAMILIES)[number], z.ZodOptional<typeof seconds>>, {
      error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown cooldown ${issue.keys.join(', ')}: the families are ${COOLDOWN_FAMILIES.join(', ')}` : undefined),
    })
    .optional(),
  repetition: z
    .strictObject({ max: z.number().int().min(1, 'at least 1'), windowSeconds: z.number().int().min(1).max(86_400, 'at most a day (86400)') })
    .partial()
    .optional(),
  confidenceThreshold: z.number().min(0, 'from 0 to 1').max(1, 'from 0 to 1').optional(),
  allowlists: z
    .partialRecord(z.enum(ENVIRONMENTS), z.union([z.literal('*'), z.array(governedActionSchema)], { error: `"*" or a list of ${GOVERNED_ACTIONS.join(', ')}` }))
    .optional(),
});
export type GovernanceOverrides = z.output<typeof governanceOverridesSchema>;

/** The defaults with a tenant's overrides applied. */
export function resolvePolicy(overrides: GovernanceOverrides = {}): GovernancePolicy {
  const base = DEFAULT_GOVERNANCE_POLICY;
  return {
    allowlists: { ...base.allowlists, ...overrides.allowlists },
    approvalRequired: base.approvalRequired,
    cooldownSeconds: { ...base.cooldownSeconds, ...overrides.cooldownSeconds },
    repetition: { ...base.repetition, ...overrides.repetition },
    confidenceThreshold: overrides.confidenceThreshold ?? base.confidenceThreshold,
  };
}
