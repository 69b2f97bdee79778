/**
 * Temporal's Task Queue Priority and Fairness for a tenant's runs (README, "Priority and fairness"): the `priority`
 * every workflow ADOS starts carries. Its activities and child workflows inherit it (the server merges the
 * workflow's priority into each one that sets none), and so does a run after continue-as-new.
 */
import type { Priority } from '@temporalio/common';
import { defaultProfile, type TenantProfile } from './profile';

/**
 * The priority levels of the server (dynamic config `matching.priorityLevels`, default 5 on Server 1.29): priority
 * keys run from 1, dispatched first, to this, dispatched last. The dev servers ADOS starts keep the default.
 */
export const TEMPORAL_PRIORITY_LEVELS = 5;

/** A tenant's priority runs from 1 (least urgent) to this (most urgent): `limits.priority` of the profile. */
export const TENANT_PRIORITY_MAX = 10;

/**
 * The priority key of a tenant priority: 10 → 1 (first), 1 → `levels` (last), the ten tenant priorities spread
 * evenly over the server's levels in between (with 5 levels: 10 and 9 → 1, 8 and 7 → 2, 6 and 5 → 3, 4 and 3 → 4, 2 and 1 → 5).
 * The default tenant priority, 5, lands on 3, the server's own default key.
 */
export function priorityKeyFor(tenantPriority: number, levels: number = TEMPORAL_PRIORITY_LEVELS): number {
  if (!Number.isInteger(tenantPriority) || tenantPriority < 1 || tenantPriority > TENANT_PRIORITY_MAX) {
    throw new RangeError(`limits.priority must be a whole number from 1 to ${TENANT_PRIORITY_MAX} (got ${tenantPriority})`);
  }
  if (!Number.isInteger(levels) || levels < 1) throw new RangeError(`matching.priorityLevels must be a whole number ≥ 1 (got ${levels})`);
  return 1 + Math.round(((TENANT_PRIORITY_MAX - tenantPriority) * (levels - 1)) / (TENANT_PRIORITY_MAX - 1));
}

/** What a start needs from its admission (shared/node/tenancy/admission.ts `Admitted`): the tenant's profile limits. */
export interface AdmittedLimits {
  tenant: { profile: Pick<TenantProfile, 'limits'> };
}

/**
 * The `priority` of a start for the tenant: its priority key, the tenant as fairness key, its fairness weight. The
 * limits are the profile admission read; without them (a start without admission) the default profile's, so that
 * every run still carries its tenant as fairness key.
 */
export function tenantPriority(tenantId: string, limits: Pick<TenantProfile['limits'], 'priority' | 'fairnessWeight'> = defaultProfile().limits): Priority {
  return { priorityKey: priorityKeyFor(limits.priority), fairnessKey: tenantId, fairnessWeight: limits.fairnessWeight };
}
