/**
 * The remediation kind's contract (README, "Remediation"): an incident in, the action it proposes, the run's status
 * and result. Validated by the client before start and by the workflow at entry, with the same schema.
 */
import { defineQuery } from '@temporalio/workflow';
import { z } from 'zod';
import { approvalPolicySchema } from '../approval';
import { ENVIRONMENTS } from '../delivery/input';
import type { GateBlock } from '../governance/gates';
import { actionNameSchema } from '../governance/policy';
import { issuesFromZod, type Validated } from '../validation';
import { TENANT_ID_PATTERN } from '../workflow-ids';

/** What went wrong, as the anomaly pipeline, a health check or a person reports it. */
export const INCIDENT_KINDS = ['crash', 'overload', 'underload', 'bad_release', 'false_alarm'] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

/** The action each kind of incident proposes (crash → restart, overload → scale_up, false alarm → noop). */
export const PROPOSED_ACTION: Record<IncidentKind, 'restart' | 'scale_up' | 'scale_down' | 'rollback' | 'noop'> = {
  crash: 'restart',
  overload: 'scale_up',
  underload: 'scale_down',
  bad_release: 'rollback',
  false_alarm: 'noop',
};

const serviceSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a service name as deploy.process deployed it: lowercase letters, digits, "_" or "-"');

/** One observation behind an incident; signals that name different kinds conflict (the run then only observes). */
export const signalSchema = z.strictObject({
  source: z.string().min(1, 'where the signal comes from, e.g. health-check').max(200),
  kind: z.enum(INCIDENT_KINDS, { message: `one of ${INCIDENT_KINDS.join(', ')}` }),
});

export const remediationInputSchema = z.strictObject({
  tenantId: z.string().regex(TENANT_ID_PATTERN, 'a tenant id: lowercase letters, digits and "_" (no "-")'),
  service: serviceSchema,
  environment: z.enum(ENVIRONMENTS, { message: `one of ${ENVIRONMENTS.join(', ')}` }),
  kind: z.enum(INCIDENT_KINDS, { message: `one of ${INCIDENT_KINDS.join(', ')}` }),
  confidence: z.number({ message: 'a number from 0 to 1' }).min(0, 'from 0 to 1').max(1, 'from 0 to 1'),
  evidence: z.array(z.string().max(2000)).max(50).default([]),
  signals: z.array(signalSchema).max(50).default([]),
  /** An action other than the kind's own (an operator's proposal); the gates judge it the same way. */
  action: actionNameSchema.optional(),
  /** How many replicas a scale_up or scale_down goes to (default: one more, or one fewer). */
  replicas: z.number().int().min(1, 'at least 1').max(16, 'at most 16').optional(),
  requestedBy: z.string().min(1).max(200),
  /** Who approves an action in prod (the one approval gate); required for an action in prod. */
  approval: approvalPolicySchema.optional(),
  /** Where the incident came from. */
  source: z.enum(['cli', 'anomaly', 'health-check', 'api']).default('api'),
  /** When it was opened (ISO-8601), the `<ts>` of the workflow ID; the client sets it. */
  openedAt: z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'an ISO-8601 time'),
});
export type RemediationInput = z.input<typeof remediationInputSchema>;
export type Remediation = z.output<typeof remediationInputSchema>;

export function validateRemediationInput(raw: unknown): Validated<Remediation> {
  const parsed = remediationInputSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  const value = parsed.data;
  if (value.environment === 'prod' && !value.approval && proposedAction(value) !== 'noop') {
    return { ok: false, issues: [{ path: 'approval', message: 'required for an action in prod: give approvers (and optionally quorum, timeout)' }] };
  }
  return { ok: true, value };
}

/** The action an incident proposes: the operator's, else its kind's. */
export function proposedAction(incident: Pick<Remediation, 'kind' | 'action'>): string {
  return incident.action ?? PROPOSED_ACTION[incident.kind];
}

/** Whether the incident's signals (and its own kind) name more than one kind of incident. */
export function conflictingSignals(incident: Pick<Remediation, 'kind' | 'signals'>): boolean {
  return incident.signals.some((s) => s.kind !== incident.kind);
}

/** The Web UI's one-line summary ("acme: crash of api in stage (confidence 0.9) → restart") and the evidence. */
export function remediationSummary(incident: Remediation): { staticSummary: string; staticDetails: string } {
  return {
    staticSummary: `${incident.tenantId}: ${incident.kind} of ${incident.service} in ${incident.environment} (confidence ${incident.confidence}) → ${proposedAction(incident)}`,
    staticDetails: [
      `Opened by ${incident.requestedBy} (${incident.source}) at ${incident.openedAt}.`,
      // Markdown needs a blank line before a list (the Web UI renders details as markdown).
      '',
      ...incident.evidence.map((e) => `- ${e}`),
      ...incident.signals.map((s) => `- signal from ${s.source}: ${s.kind}`),
    ].join('\n'),
  };
}

export type RemediationStage = 'proposing' | 'gating' | 'awaiting_approval' | 'acting' | 'verifying' | 'finished';

/**
 * How a remediation ended: `remediated` (the action ran and the service is healthy), `unhealthy` (it ran, the check
 * failed), `failed` (the action itself failed), `blocked` (a gate refused; the fallback, if any, is what was done),
 * `noop` (nothing was needed), `rejected` / `approval_expired` (prod's approval).
 */
export type RemediationOutcome = 'remediated' | 'unhealthy' | 'failed' | 'blocked' | 'noop' | 'rejected' | 'approval_expired';

/** What the action did to the service. */
export interface ActionEffect {
  action: string;
  pid?: number;
  previousPid?: number;
  release?: string;
  replicas?: Array<{ pid: number; privatePort: number }>;
  url?: string;
}

export interface RemediationResult {
  workflowId: string;
  outcome: RemediationOutcome;
  proposed: string;
  /** What was carried out: the proposal, or the gates' fallback. */
  performed: string;
  blocks: GateBlock[];
  effect?: ActionEffect;
  healthy?: boolean;
  reason?: string;
}

export interface RemediationStatus {
  workflowId: string;
  tenantId: string;
  service: string;
  environment: string;
  stage: RemediationStage;
  proposed: string;
  blocks: GateBlock[];
  waitingFor?: string;
  outcome?: RemediationOutcome;
}

export const remediationStatusQuery = defineQuery<RemediationStatus>('remediationStatus');
