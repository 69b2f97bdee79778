import type { Client } from '@temporalio/client';
import type { Db } from '../shared/node/db';
import { createPipelineControlActivities } from './anomaly/pipeline-control';
import { createAuditActivities } from './common/audit-activities';
import { createDeliveryControlActivities } from './delivery/control-activities';
import { createRoutingActivities, type TemporalDeps } from './delivery/routing-activities';
import { createExtractionControlActivities } from './extraction/control-activities';
import { createGovernanceActivities } from './common/governance-activities';
import { createRemediationControlActivities } from './remediation/control-activities';
import { createTaskRuntimeControlActivities } from './task-runtime/control-activities';
import { createAnomalyInvestigationActivities } from './anomaly/investigation-activities';
import { createAnomalyMonitorActivities } from './anomaly/monitor-activities';
import { createBackpressureActivities } from './tenancy/backpressure';
import { createTenantGateActivities } from './tenancy/gate-activities';
import { createTransferActivities } from './learning/transfer/transfer-activities';
import { createStrategyPromotionActivities } from './learning/strategy/promotion-activities';
import { createStrategyActivities } from './learning/strategy/strategy-activities';

export interface ControlActivityDeps {
  db: Db;
  /**
   * Temporal's own API (the control worker passes its NativeConnection.workflowService), for the routing reports
   * of delivery runs ("no worker polls capability X"). Optional: without it those reports say "not checked".
   */
  temporal?: TemporalDeps;
  /** A Temporal client on the worker's connection, for the tenant gate (signal-with-start, describing holders). */
  client?: Client;
}

/** Control-plane activities (everything that touches the database), served on the control queue. */
export function createActivities(deps: ControlActivityDeps) {
  return {
    ...createAuditActivities(deps.db),
    ...createDeliveryControlActivities(deps.db),
    ...createRoutingActivities(deps.temporal),
    ...createExtractionControlActivities(deps.db),
    ...createGovernanceActivities(deps.db),
    ...createRemediationControlActivities(deps.db),
    ...createPipelineControlActivities(deps.db),
    ...createTaskRuntimeControlActivities(deps.db),
    ...createAnomalyMonitorActivities(deps.db),
    ...createAnomalyInvestigationActivities(deps.db),
    ...createBackpressureActivities(deps.temporal),
    ...createTenantGateActivities({ db: deps.db, client: deps.client }),
    ...createTransferActivities(deps.db),
    ...createStrategyActivities(deps.db),
    ...createStrategyPromotionActivities(deps.db),
  };
}

export type ControlActivities = ReturnType<typeof createActivities>;
export { BUILT_INS, createCapabilityActivities } from './capability-activities';
