import type { Db } from '../shared/node/db';
import { createAuditActivities } from './common/audit-activities';
import { createDeliveryControlActivities } from './delivery/control-activities';
import { createRoutingActivities, type TemporalDeps } from './delivery/routing-activities';
import { createExtractionControlActivities } from './extraction/control-activities';

export interface ControlActivityDeps {
  db: Db;
  /**
   * Temporal's own API (the control worker passes its NativeConnection.workflowService), for the routing reports
   * of delivery runs ("no worker polls capability X"). Optional: without it those reports say "not checked".
   */
  temporal?: TemporalDeps;
}

/** Control-plane activities (everything that touches the database), served on the control queue. */
export function createActivities(deps: ControlActivityDeps) {
  return {
    ...createAuditActivities(deps.db),
    ...createDeliveryControlActivities(deps.db),
    ...createRoutingActivities(deps.temporal),
    ...createExtractionControlActivities(deps.db),
  };
}

export type ControlActivities = ReturnType<typeof createActivities>;
export { BUILT_INS, createCapabilityActivities } from './capability-activities';
