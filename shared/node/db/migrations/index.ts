import type { Migration } from 'kysely';
import * as m0001 from './0001_foundation';
import * as m0002 from './0002_extraction';
import * as m0003 from './0003_effects';
import * as m0004 from './0004_capabilities';
import * as m0005 from './0005_approver_keys';
import * as m0006 from './0006_tenants';
import * as m0007 from './0007_tenant_rates';
import * as m0008 from './0008_governance';
import * as m0009 from './0009_approval_policy_audit_events';
import * as m0010 from './0010_task_runtimes';
import * as m0012 from './0012_anomaly_monitor';
import * as m0013 from './0013_strategy_learning';
import * as m0014 from './0014_transfer_learning';
import * as m0016 from './0016_anomaly_handlers';
import * as m0017 from './0017_strategy_meta';
import * as m0018 from './0018_anomaly_notifications';

/**
 * Every migration, in order. Listed explicitly (not read from disk) so that the same code works
 * under tsx, jest and a bundle. Never edit a released migration: add the next one.
 */
export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_extraction': m0002,
  '0003_effects': m0003,
  '0004_capabilities': m0004,
  '0005_approver_keys': m0005,
  '0006_tenants': m0006,
  '0007_tenant_rates': m0007,
  '0008_governance': m0008,
  '0009_approval_policy_audit_events': m0009,
  '0010_task_runtimes': m0010,
  '0012_anomaly_monitor': m0012,
  '0013_strategy_learning': m0013,
  '0014_transfer_learning': m0014,
  '0016_anomaly_handlers': m0016,
  '0017_strategy_meta': m0017,
  '0018_anomaly_notifications': m0018,
};
