import { sleep } from '@temporalio/workflow';
import type { GovernanceActivities } from '../../activities/common/governance-activities';
import { evaluateGates, type ApprovalState, type GateName, type GateVerdict, type ProposedAction } from '../../shared/contract/governance/gates';
import { resolvePolicy } from '../../shared/contract/governance/policy';

/** Where a run's gate decisions go: one audit entry per event (`governance.blocked`, `governance.waiting`, …). */
export type GovernanceAudit = (event: string, detail: Record<string, unknown>) => Promise<void>;

/** What the gates of one proposal need from the run around them. */
export interface GovernanceOptions {
  readContext: GovernanceActivities['readGovernanceContext'];
  audit: GovernanceAudit;
}

/** One verdict and the clock it was reached at. */
export interface GovernanceDecision {
  verdict: GateVerdict;
  now: string;
}

/**
 * The governance gates as a workflow asks them: an activity reads the context (the target's history, the tenant's
 * freezes and overrides, the clock: recorded in the history, so a replay reaches the same verdict), the gates are
 * evaluated in workflow code (shared/contract/governance/gates.ts, pure), and every block is audited with its gate
 * and reason (a verdict that lets the action through adds nothing: the action's own entry records it).
 */
export class GovernanceGates {
  constructor(private readonly options: GovernanceOptions) {}

  /** Judges `proposal` once; `notBefore`: the decision's clock is no earlier than this (the end of a wait slept). */
  async check(proposal: ProposedAction, approval: ApprovalState, gates?: readonly GateName[], notBefore?: string): Promise<GovernanceDecision> {
    const context = await this.options.readContext({ tenantId: proposal.tenantId, service: proposal.service, environment: proposal.environment, notBefore });
    const verdict = evaluateGates({
      proposal,
      history: context.history,
      freezes: context.freezes,
      approval,
      now: context.now,
      policy: resolvePolicy(context.overrides),
      gates,
    });
    const target = { service: proposal.service, environment: proposal.environment };
    for (const block of verdict.blocks) await this.options.audit('governance.blocked', { action: verdict.action, ...target, ...block, at: context.now });
    return { verdict, now: context.now };
  }

  /**
   * Judges `proposal`, waiting out every freeze whose policy is `wait` (a timer to the freeze's end, then the gates
   * again: a freeze added, extended or removed meanwhile counts). Returns the first verdict that is not a waiting
   * freeze: allowed, or blocked for another reason (a refusing freeze included). `onWait` says what the run waits for.
   */
  async untilUnfrozen(proposal: ProposedAction, approval: ApprovalState, gates: readonly GateName[], onWait: (until: string | undefined) => void): Promise<GovernanceDecision> {
    let decision = await this.check(proposal, approval, gates);
    for (;;) {
      const { blocks } = decision.verdict;
      const freeze = blocks.find((b) => b.gate === 'freeze');
      if (!freeze || freeze.freezePolicy !== 'wait' || blocks.some((b) => b.gate !== 'freeze') || !freeze.until) break;
      await this.options.audit('governance.waiting', { action: decision.verdict.action, environment: proposal.environment, until: freeze.until, reason: freeze.reason });
      onWait(freeze.until);
      await sleep(Math.max(1, Date.parse(freeze.until) - Date.parse(decision.now)), { summary: `${proposal.environment}: ${decision.verdict.action} waits out a freeze until ${freeze.until}` });
      decision = await this.check(proposal, approval, gates, freeze.until);
    }
    onWait(undefined);
    return decision;
  }
}
