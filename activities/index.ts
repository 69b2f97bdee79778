import type { Db } from '../shared/node/db';
import { createDeliveryControlActivities } from './delivery/control-activities';

export interface ControlActivityDeps {
  db: Db;
}

/** Control-plane activities (everything that touches the database), served on the control queue. */
export function createActivities(deps: ControlActivityDeps) {
  return {
    ...createDeliveryControlActivities(deps.db),
  };
}

export type ControlActivities = ReturnType<typeof createActivities>;
export { createCapabilityActivities, CAPABILITY_HANDLERS } from './capabilities';
