/**
 * Recorded scenarios of the approval gate's policy (README, "Approver policy"): signed decisions checked against the
 * keys reloaded per decision (patch `approval-keys-per-decision`) and an approval lapsed by the policy's maxAge
 * (patch `approval-max-age`). Listed in record-histories.ts's SCENARIOS (test/histories/<release>/deliveryRun-*.json).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signedDecision } from '../../client/common/approval';
import { approvalQuery, approveSignal } from '../../shared/contract/approval';
import { generateKeyFile, registerKey } from '../../shared/node/approvals/keys';
import { eventually } from '../helpers/eventually';
import type { AdosStack } from '../helpers/stack';
import { exampleRun } from '../workflows/fixtures';
import type { DeliveryScenario } from './escalation-scenarios';

/** Signs alice's or bob's approval with a fresh registered key and sends it by signal; resolves once it is written. */
async function approveSigned(stack: AdosStack, workflowId: string, approver: string, keyFile: string, decisions: number): Promise<void> {
  const { decision: _kind, ...payload } = await signedDecision(stack.client, workflowId, { decision: 'approve', approver }, { keyFile });
  await stack.client.workflow.getHandle(workflowId).signal(approveSignal, payload);
  await eventually(`${approver}'s approval recorded`, 30_000, async () => {
    const rows = await stack.db.selectFrom('approvals').select('seq').where('workflow_id', '=', workflowId).execute();
    return rows.length >= decisions ? true : undefined;
  });
}

export const APPROVAL_SCENARIOS: DeliveryScenario[] = [
  {
    workflowType: 'deliveryRun',
    name: 'approval-signed-lapsed',
    description: 'gate with required signatures, quorum 2 and maxAge 1h: alice signs, 2 h pass, bob signs (alice lapses), alice signs again → prod',
    expected: 'succeeded',
    async run(stack) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-replay-keys-'));
      try {
        const keys: Record<string, string> = {};
        for (const approver of ['alice', 'bob']) {
          keys[approver] = path.join(dir, `${approver}.pem`);
          await registerKey(stack.db, 'replay', approver, generateKeyFile(keys[approver]).publicKey);
        }
        const approval = { approvers: ['alice', 'bob'], quorum: 2, signatures: 'required' as const, maxAge: '1h' };
        const { workflowId, handle } = await stack.startRun(exampleRun({ tenantId: 'replay', runId: 'approval-signed-lapsed', requestedBy: 'carol', approval }));
        await stack.waitForStatus(workflowId, (s) => s.stage === 'awaiting_approval');
        await approveSigned(stack, workflowId, 'alice', keys.alice, 1);
        await stack.env.sleep('2h');
        await approveSigned(stack, workflowId, 'bob', keys.bob, 2);
        await eventually('alice lapsed', 30_000, async () => ((await handle.query(approvalQuery))?.voided?.length ? true : undefined));
        await approveSigned(stack, workflowId, 'alice', keys.alice, 3);
        return { workflowId, outcome: (await stack.result(workflowId)).outcome };
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
