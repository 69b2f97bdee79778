import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import {
  approvalQuery,
  approveSignal,
  decideUpdate,
  rejectSignal,
  type ApprovalDecision,
  type ApprovalGateSnapshot,
} from '../../shared/contract/approval';
import { defaultKeyFile, signDecision } from '../../shared/node/approvals/keys';
import { DecisionRefusedError, messageFailure } from './run-errors';

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
      const { decision: kind, ...payload } = decision;
      await handle.signal(kind === 'approve' ? approveSignal : rejectSignal, payload);
      return undefined;
    }
    return await handle.executeUpdate(decideUpdate, { args: [decision] });
  } catch (error) {
    throw await messageFailure(client, workflowId, error);
  }
}

/** Where a decision's signature comes from: a key file, the default one when it exists, or none. */
export type SigningChoice = { keyFile: string } | { keyFile: 'default' } | 'unsigned';

/**
 * Signs a decision over the subject the run's gate shows right now (the `approval` query), with the approver's
 * private key: the file given, or ~/.config/ados/keys/<tenant>/<approver>.pem when it exists. Without a key the
 * decision goes unsigned (a gate whose policy requires signatures then refuses it, saying why).
 */
export async function signedDecision(client: Client, workflowId: string, decision: ApprovalDecision, signing: SigningChoice): Promise<ApprovalDecision> {
  if (signing === 'unsigned') return decision;
  let gate: ApprovalGateSnapshot | undefined;
  try {
    gate = await client.workflow.getHandle(workflowId).query(approvalQuery);
  } catch (error) {
    throw await messageFailure(client, workflowId, error);
  }
  if (!gate) throw new DecisionRefusedError(`${workflowId} has no approval gate`);
  if (!gate.subjectHash) throw new DecisionRefusedError(`the approval gate of ${workflowId} has not opened yet (nothing to sign); decide once it waits for approval`);
  const file = signing.keyFile === 'default' ? defaultKeyFile(gate.tenantId, decision.approver) : signing.keyFile;
  if (signing.keyFile === 'default' && !fs.existsSync(file)) return decision;
  const signature = signDecision(file, { workflowId, gate: gate.gate, decision: decision.decision, approver: decision.approver, subjectHash: gate.subjectHash });
  return { ...decision, subjectHash: gate.subjectHash, signature };
}
