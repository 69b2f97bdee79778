import type { Client } from '@temporalio/client';
import { approveSignal, decideUpdate, rejectSignal, type ApprovalDecision, type ApprovalGateSnapshot } from '../../shared/contract/approval';
import { messageFailure } from './run-errors';

/**
 * Sends an approval decision to a run of any kind waiting at its approval gate. By default as an Update, so that a
 * decision that would not count is refused at once with the reason; `via: 'signal'` fires and forgets (the run
 * audits the outcome).
 */
export async function decide(
  client: Client,
  workflowId: string,
  decision: ApprovalDecision,
  via: 'update' | 'signal' = 'update',
): Promise<ApprovalGateSnapshot | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    if (via === 'signal') {
      const payload = { approver: decision.approver, comment: decision.comment };
      await handle.signal(decision.decision === 'approve' ? approveSignal : rejectSignal, payload);
      return undefined;
    }
    return await handle.executeUpdate(decideUpdate, { args: [decision] });
  } catch (error) {
    throw await messageFailure(client, workflowId, error);
  }
}
