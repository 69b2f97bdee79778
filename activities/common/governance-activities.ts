import type { ChangeFreeze } from '../../shared/contract/governance/freeze';
import type { ActionRecord } from '../../shared/contract/governance/gates';
import type { GovernanceOverrides } from '../../shared/contract/governance/policy';
import type { Db } from '../../shared/node/db';
import { governanceOverrides, listFreezes, recentActions, recordAction, type GovernedActionRow } from '../../shared/node/governance/store';

/** A target of the gates: one environment of one service of a tenant (a delivery run's promotion: its run id). */
export interface GovernanceTarget {
  tenantId: string;
  service: string;
  environment: string;
}

/** Everything a gate decision needs, read at one moment; the workflow evaluates the gates on it (pure). */
export interface GovernanceContext {
  /** The decision's clock (ISO-8601): this activity's, recorded in the history with the rest. */
  now: string;
  history: ActionRecord[];
  freezes: ChangeFreeze[];
  overrides: GovernanceOverrides;
}

/** How far back the history is read: longer than any cooldown or repetition window a tenant may set (a day). */
const HISTORY_WINDOW_MS = 86_400_000;

/**
 * The control activities of the governance gates (workflows/common/governance.ts): read the context of a decision,
 * and record an action carried out. The clock is read here, never in a workflow.
 */
export function createGovernanceActivities(db: Db) {
  return {
    /**
     * The target's actions of the last day, the tenant's freezes not yet over for its environment, its overrides,
     * and the time. `notBefore`: the end of a wait the workflow already slept through (a freeze's end); the clock is
     * never taken as earlier (on the time-skipping test server, workflow time runs ahead of this worker's clock).
     */
    async readGovernanceContext(input: GovernanceTarget & { notBefore?: string }): Promise<GovernanceContext> {
      const clock = Date.now();
      const now = new Date(Math.max(clock, input.notBefore ? Date.parse(input.notBefore) : clock));
      const [history, freezes, overrides] = await Promise.all([
        recentActions(db, input, new Date(now.getTime() - HISTORY_WINDOW_MS)),
        listFreezes(db, input.tenantId, { environment: input.environment, endingAfter: now }),
        governanceOverrides(db, input.tenantId),
      ]);
      return { now: now.toISOString(), history, freezes, overrides };
    },

    /** Records an action carried out (once per workflow and key); returns when, by this activity's clock. */
    async recordGovernedAction(input: Omit<GovernedActionRow, 'at'>): Promise<{ at: string }> {
      const at = await recordAction(db, { ...input, at: new Date() });
      return { at: at.toISOString() };
    },
  };
}

export type GovernanceActivities = ReturnType<typeof createGovernanceActivities>;
