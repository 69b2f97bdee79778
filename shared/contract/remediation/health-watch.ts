/**
 * The health watch's contract (README, "Remediation" → "Health watches"): a service that deploy.process serves,
 * checked through its public port every interval; after `failuresToOpen` failed checks in a row it opens an incident
 * (a remediationRun child, source `health-check`). Validated by the client before start and by the workflow at entry.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { z } from 'zod';
import { approvalPolicySchema } from '../approval';
import { ENVIRONMENTS } from '../delivery/input';
import { durationSchema } from '../duration';
import { issuesFromZod, type Validated } from '../validation';
import { TENANT_ID_PATTERN } from '../workflow-ids';
import type { IncidentKind } from './input';

export const healthWatchInputSchema = z.strictObject({
  tenantId: z.string().regex(TENANT_ID_PATTERN, 'a tenant id: lowercase letters, digits and "_" (no "-")'),
  service: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a service name as deploy.process deployed it: lowercase letters, digits, "_" or "-"'),
  environment: z.enum(ENVIRONMENTS, { message: `one of ${ENVIRONMENTS.join(', ')}` }),
  /** Time between checks. */
  interval: durationSchema.default('15s'),
  /** Failed checks in a row that open an incident (one failure is often a blip). */
  failuresToOpen: z.number({ message: 'a whole number from 1 to 20' }).int('a whole number from 1 to 20').min(1, 'at least 1').max(20, 'at most 20').default(3),
  /** Prod's approvers for the remediation an incident starts (required to watch a prod service). */
  approval: approvalPolicySchema.optional(),
  requestedBy: z.string().min(1, 'say who starts the watch').max(200),
  /** Checks per run before the watch hands over to a new run (continue-as-new), keeping each history short. */
  handOverAfterChecks: z.number().int().min(10, 'at least 10').max(10_000, 'at most 10,000').default(500),
});
export type HealthWatchRequest = z.input<typeof healthWatchInputSchema>;
export type HealthWatchInput = z.output<typeof healthWatchInputSchema>;

export function validateHealthWatchInput(raw: unknown): Validated<HealthWatchInput> {
  const parsed = healthWatchInputSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  if (parsed.data.environment === 'prod' && !parsed.data.approval) {
    return { ok: false, issues: [{ path: 'approval', message: 'required to watch a prod service: its remediations wait for these approvers (give approvers, e.g. --approvers alice,bob)' }] };
  }
  return { ok: true, value: parsed.data };
}

/** One check's answer, as the process runtime gives it. */
export interface HealthCheck {
  healthy: boolean;
  url: string;
  detail: string;
  /** Whether the release's process was running at the check. */
  processRunning: boolean;
}

/**
 * What the last failed check says happened: the release's process gone is a crash, with high confidence; a process
 * that runs but answers with the wrong status, or not in time, is an overload, with less (the uncertainty gate
 * turns an action below 0.5 into a noop, so both still act).
 */
export function incidentOfFailures(last: Pick<HealthCheck, 'processRunning'>): { kind: IncidentKind; confidence: number } {
  return last.processRunning ? { kind: 'overload', confidence: 0.6 } : { kind: 'crash', confidence: 0.9 };
}

/** The state a watch carries through continue-as-new: plain JSON. */
export interface HealthWatchState {
  chainIndex: number;
  checks: number;
  consecutiveFailures: number;
  incidents: string[];
  lastCheck?: HealthCheck & { at: string };
  stopRequested: boolean;
  stopBy?: string;
}

export type HealthWatchStage = 'watching' | 'remediating' | 'stopped';

export interface HealthWatchStatus extends HealthWatchState {
  workflowId: string;
  tenantId: string;
  service: string;
  environment: string;
  stage: HealthWatchStage;
}

export interface HealthWatchResult {
  workflowId: string;
  outcome: 'stopped';
  checks: number;
  incidents: string[];
}

/** Stop watching: a check or remediation in progress finishes first. */
export const stopHealthWatchSignal = defineSignal<[{ by?: string; reason?: string }?]>('stopHealthWatch');
export const stopHealthWatchPayloadSchema = z.strictObject({ by: z.string().min(1).max(200).optional(), reason: z.string().max(500).optional() });

export const healthWatchStatusQuery = defineQuery<HealthWatchStatus>('healthWatchStatus');
