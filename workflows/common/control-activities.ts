import {
  proxyActivities,
  proxyLocalActivities,
  type ActivityInterfaceFor,
  type LocalActivityInterfaceFor,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { AuditActivities } from '../../activities/common/audit-activities';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import { ApprovalGate, type ApprovalGateOptions } from '../approval';
import { runTaskQueuePrefix } from './task-queue';

/** A control write or read retries until the database takes it: losing an audit entry is not an option. */
function controlCallOptions(): Pick<LocalActivityOptions, 'startToCloseTimeout' | 'retry'> {
  return { startToCloseTimeout: '30s', retry: { initialInterval: '1s', maximumInterval: '30s' } };
}

/**
 * The control activities `A` as local activities: the control worker runs the workflow and the control activities
 * alike, so a local activity saves a task-queue round trip per call and is recorded in the history as a marker.
 * For the main flow only (see handlerWriteActivities).
 */
export function controlLocalActivities<A>(): LocalActivityInterfaceFor<A> {
  return proxyLocalActivities<A>(controlCallOptions());
}

/**
 * The audit activities for what signal and update handlers write (approval decisions, resolutions): ordinary
 * activities on the control queue, since a local activity started by a handler can complete in the same workflow task
 * as the main flow's, and replay then orders the update's completion differently from the history.
 */
export function handlerWriteActivities(): ActivityInterfaceFor<AuditActivities> {
  return proxyActivities<AuditActivities>({ taskQueue: controlTaskQueue(runTaskQueuePrefix()), ...controlCallOptions() });
}

/** A gate's options but its activities, plus the run's main-flow audit write. */
export interface StandardApprovalGateOptions extends Omit<ApprovalGateOptions, 'activities'> {
  /** The run's control activities (local ones are fine): the gate's `approval.requested` entry goes through them. */
  control: Pick<AuditActivities, 'recordAudit'>;
}

/**
 * The shared ApprovalGate with the standard activities: `recordAudit` from the run's control activities, the
 * handlers' decisions and the approvers' keys through handlerWriteActivities.
 */
export function approvalGateFor({ control, ...options }: StandardApprovalGateOptions): ApprovalGate {
  const handlerWrites = handlerWriteActivities();
  return new ApprovalGate({
    ...options,
    activities: {
      recordAudit: control.recordAudit,
      recordApprovalDecision: handlerWrites.recordApprovalDecision,
      loadApproverKeys: handlerWrites.loadApproverKeys,
    },
  });
}
