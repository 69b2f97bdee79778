/**
 * Signed approvals bound to exactly what ships, on the time-skipping test server with the real workers and
 * activities against PGlite. Keys are made with node:crypto and registered in `approver_keys`, the CLI's client API
 * signs (client/common/approval.ts signedDecision), and the workflow verifies in pure code before counting.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { decide, signedDecision } from '../../client/common/approval';
import { approvalQuery, approveSignal, type ApprovalDecision } from '../../shared/contract/approval';
import { revokeKey } from '../../shared/node/approvals/keys';
import { eventually } from '../helpers/eventually';
import { useTimeSkippingStack, type AdosStack } from '../helpers/stack';
import { approverKeys, refusal } from './approver-keys';
import { approvalRows, auditEvents, exampleRun } from './fixtures';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;
let stack: AdosStack;
useTimeSkippingStack('signed-approvals', (ready) => ({ env, workflowBundle, stack } = ready));

const keys = approverKeys('ados-signed-');
afterAll(keys.cleanup);

const keyFor = (tenantId: string, approver: string, name?: string) => keys.keyFor(stack.db, tenantId, approver, name);

async function signedRunAtGate(tenantId: string, tag: string, quorum = 1) {
  const started = await stack.startRun(
    exampleRun({ tenantId, requestedBy: 'carol', approval: { approvers: ['alice', 'bob'], quorum, timeout: '72h', signatures: 'required' } }, tag),
  );
  await stack.waitForStatus(started.workflowId, (s) => s.stage === 'awaiting_approval');
  return started;
}

const approve = (approver: string, comment?: string): ApprovalDecision => ({ decision: 'approve', approver, ...(comment ? { comment } : {}) });

test('a gate that requires signatures refuses an unsigned approval and counts a signed one; the record keeps key and subject', async () => {
  const alice = await keyFor('signed', 'alice');
  const { workflowId, handle } = await signedRunAtGate('signed', 'required');
  expect(await refusal(decide(stack.client, workflowId, approve('alice')))).toMatch(/^unsigned: /);

  const gate = await handle.query(approvalQuery);
  expect(gate?.subjectHash).toMatch(/^[0-9a-f]{64}$/);
  // The subject is the plan and what dev and stage released.
  expect(Object.keys(gate?.subject?.artifacts ?? {}).sort()).toEqual(['dev/api@dev', 'stage/api@stage']);

  const decision = await signedDecision(stack.client, workflowId, approve('alice', 'signed off'), { keyFile: alice.file });
  const snapshot = await decide(stack.client, workflowId, decision);
  expect(snapshot?.approvedBy).toEqual(['alice']);
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');
  // The unsigned decision was refused by the handler, so it is recorded (and audited) with its reason.
  const rows = await approvalRows(stack.db, workflowId);
  expect(rows.map((r) => [r.approver, r.counted])).toEqual([['alice', false], ['alice', true]]);
  expect(rows[0].reason).toMatch(/^unsigned: /);
  const granted = (await auditEvents(stack.db, workflowId)).find((e) => e.event === 'approval.granted');
  expect(granted?.detail).toMatchObject({ keyId: alice.keyId, subjectHash: gate?.subjectHash });
});

test("refused and audited: a signature replayed from another run, another tenant's key, a wrong signature by signal", async () => {
  const alice = await keyFor('replayt', 'alice');
  const first = await signedRunAtGate('replayt', 'replay-a');
  const second = await signedRunAtGate('replayt', 'replay-b');
  const signedForFirst = await signedDecision(stack.client, first.workflowId, approve('alice'), { keyFile: alice.file });
  // The same signature sent to another run of the same tenant does not verify there.
  expect(await refusal(decide(stack.client, second.workflowId, { ...signedForFirst, subjectHash: (await second.handle.query(approvalQuery))!.subjectHash }))).toMatch(
    /does not verify/,
  );
  // A key registered for alice in another tenant counts nothing here.
  const elsewhere = await keyFor('othertenant', 'alice');
  const foreign = await signedDecision(stack.client, second.workflowId, approve('alice'), { keyFile: elsewhere.file });
  expect(await refusal(decide(stack.client, second.workflowId, foreign))).toMatch(/not registered for "alice"/);
  // By signal: audited as ignored with the reason, the run goes on.
  await second.handle.signal(approveSignal, { approver: 'alice', subjectHash: signedForFirst.subjectHash, signature: signedForFirst.signature });
  // (The foreign key's update was judged by the handler after reloading the keys, so it has a row too.)
  const replayed = await eventually('the replayed signal recorded', 30_000, async () => {
    const rows = await approvalRows(stack.db, second.workflowId);
    return rows.find((r) => r.via === 'signal');
  });
  expect(replayed).toMatchObject({ approver: 'alice', counted: false });
  expect(replayed.reason).toMatch(/signed another subject|does not verify/);
  // Both runs still wait; a proper signature opens each.
  for (const run of [first, second]) {
    await decide(stack.client, run.workflowId, await signedDecision(stack.client, run.workflowId, approve('alice'), { keyFile: alice.file }));
    expect((await stack.result(run.workflowId)).outcome).toBe('succeeded');
  }
});

test('approvals are void when what they approved changes before promotion: a redeployed artifact makes the gate ask again', async () => {
  const alice = await keyFor('voiding', 'alice');
  const bob = await keyFor('voiding', 'bob');
  const { workflowId, handle } = await signedRunAtGate('voiding', 'void', 2);
  const before = (await handle.query(approvalQuery))!.subjectHash!;
  await decide(stack.client, workflowId, await signedDecision(stack.client, workflowId, approve('alice'), { keyFile: alice.file }));
  // Stage is redeployed with a changed artifact between the approvals and promotion.
  await stack.db.updateTable('releases').set({ artifact_sha256: 'f'.repeat(64) }).where('workflow_id', '=', workflowId).where('environment', '=', 'stage').execute();
  await decide(stack.client, workflowId, await signedDecision(stack.client, workflowId, approve('bob'), { keyFile: bob.file }));

  const reopened = await eventually('the gate asks again', 30_000, async () => {
    const gate = await handle.query(approvalQuery);
    return gate?.voided?.length === 2 && gate.subjectHash !== before ? gate : undefined;
  });
  expect(reopened.approvedBy).toEqual([]);
  expect(reopened.outcome).toBeUndefined();
  expect(reopened.voided?.map((v) => v.approver).sort()).toEqual(['alice', 'bob']);
  expect(reopened.subject?.artifacts['stage/api@stage']).toBe('f'.repeat(64));
  // An approval signed over the old subject no longer counts; new ones over the new subject open prod.
  expect(await refusal(decide(stack.client, workflowId, { ...approve('alice'), subjectHash: before, signature: (await signedDecision(stack.client, workflowId, approve('alice'), { keyFile: alice.file })).signature }))).toMatch(/signed another subject|does not verify/);
  for (const [who, key] of [['alice', alice], ['bob', bob]] as const) {
    await decide(stack.client, workflowId, await signedDecision(stack.client, workflowId, approve(who), { keyFile: key.file }));
  }
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');
  const voided = (await auditEvents(stack.db, workflowId)).filter((e) => e.event === 'approval.voided');
  expect(voided).toHaveLength(1);
  expect(voided[0].detail).toMatchObject({ approvers: ['alice', 'bob'] });
});

test('key rotation: a key registered while the gate is open counts (the gate reloads); a revoked key does not', async () => {
  const old = await keyFor('rotation', 'alice', 'rotation-alice-old');
  const { workflowId } = await signedRunAtGate('rotation', 'rotate');
  // Rotate: a new key, then the old one revoked.
  const fresh = await keyFor('rotation', 'alice', 'rotation-alice-new');
  await revokeKey(stack.db, 'rotation', 'alice', old.keyId);
  const snapshot = await decide(stack.client, workflowId, await signedDecision(stack.client, workflowId, approve('alice'), { keyFile: fresh.file }));
  expect(snapshot?.approvedBy).toEqual(['alice']);
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');

  const next = await signedRunAtGate('rotation', 'rotate-revoked');
  expect(await refusal(decide(stack.client, next.workflowId, await signedDecision(stack.client, next.workflowId, approve('alice'), { keyFile: old.file })))).toMatch(
    /not registered for "alice"/,
  );
  await decide(stack.client, next.workflowId, await signedDecision(stack.client, next.workflowId, approve('alice'), { keyFile: fresh.file }));
  expect((await stack.result(next.workflowId)).outcome).toBe('succeeded');
});
