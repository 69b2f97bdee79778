/**
 * Approver policy on the time-skipping test server, with the real workers and activities against PGlite (nothing
 * mocked): the tenant's prod policy resolved at start (client/common/approval.ts applyTenantApprovalPolicy) and
 * enforced by the gate: roles, quorum, separation of duties, required signatures (refusals audited), expiry, a
 * timeout that never counts, key rotation on an open gate; and the run's trail as `ados audit` prints it.
 */
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { sql } from 'kysely';
import { auditTrail, formatAuditTrail } from '../../client/audit';
import { applyTenantApprovalPolicy } from '../../client/approvers';
import { decide, signedDecision } from '../../client/common/approval';
import { approvalQuery, approveSignal, type ApprovalDecision } from '../../shared/contract/approval';
import { InputValidationError } from '../../shared/contract/validation';
import { revokeKey } from '../../shared/node/approvals/keys';
import { TenantRefusedError } from '../../shared/node/tenancy/admission';
import { createTenant } from '../../shared/node/tenancy/store';
import { eventually } from '../helpers/eventually';
import { cleanEnv, runAdosCli } from '../helpers/processes';
import { useTimeSkippingStack, type AdosStack } from '../helpers/stack';
import { approverKeys, refusal } from './approver-keys';
import { approvalRows, auditEvents, exampleRun } from './fixtures';

let env: TestWorkflowEnvironment;
let stack: AdosStack;
useTimeSkippingStack('approval-policy', (ready) => ({ env, stack } = ready));

const approverKeyFiles = approverKeys('ados-policy-');
afterAll(approverKeyFiles.cleanup);

const keyFor = (tenantId: string, approver: string, name?: string) => approverKeyFiles.keyFor(stack.db, tenantId, approver, name);

/** A run of `tenantId` started as `ados run start` starts it: the tenant's policy applied to the plan first. */
async function runAtGate(tenantId: string, tag: string, overrides: Record<string, unknown> = {}) {
  const raw = { ...exampleRun({ tenantId, requestedBy: 'carol' }, tag), approval: undefined, ...overrides };
  const started = await stack.startRun(await applyTenantApprovalPolicy(stack.db, raw));
  await stack.waitForStatus(started.workflowId, (s) => s.stage === 'awaiting_approval');
  return started;
}

const approve = (approver: string): ApprovalDecision => ({ decision: 'approve', approver });
const signed = (workflowId: string, approver: string, key: { file: string }) => signedDecision(stack.client, workflowId, approve(approver), { keyFile: key.file });

test('a tenant policy with a role, quorum 2 and required signatures: the requester and the author never count, unsigned is refused and audited, a plan cannot weaken it', async () => {
  await createTenant(
    stack.db,
    'policy_roles',
    { approvals: { roles: { 'release-manager': ['carol', 'erin', 'frank'] }, prod: { approvers: ['alice'], roles: ['release-manager'], quorum: 2, signatures: 'required' } } },
    'test',
  );
  const raw = { ...exampleRun({ tenantId: 'policy_roles', requestedBy: 'carol' }, 'weaker'), approval: { quorum: 1 } };
  const weakened = await applyTenantApprovalPolicy(stack.db, raw).then(() => undefined, (e: unknown) => e);
  expect(weakened).toBeInstanceOf(InputValidationError);
  expect((weakened as InputValidationError).issues).toEqual([{ path: 'approval.quorum', message: expect.stringMatching(/^1 is below the quorum of 2; a plan may strengthen tenant policy_roles's prod approval policy, not weaken it/) }]);

  const keys = Object.fromEntries(await Promise.all(['alice', 'carol', 'erin', 'frank'].map(async (who) => [who, await keyFor('policy_roles', who)] as const)));
  const { workflowId, handle } = await runAtGate('policy_roles', 'roles', { approval: { authors: ['erin'] } });
  const gate = await handle.query(approvalQuery);
  expect(gate?.policy).toMatchObject({ approvers: ['alice', 'carol', 'erin', 'frank'], quorum: 2, signatures: 'required', authors: ['erin'], roles: { 'release-manager': ['carol', 'erin', 'frank'] } });

  expect(await refusal(decide(stack.client, workflowId, await signed(workflowId, 'carol', keys.carol)))).toBe('"carol" requested this run and cannot approve it');
  expect(await refusal(decide(stack.client, workflowId, await signed(workflowId, 'erin', keys.erin)))).toBe('"erin" wrote this plan (approval.authors) and cannot approve it');
  expect(await refusal(decide(stack.client, workflowId, approve('alice')))).toMatch(/^unsigned: /);
  expect((await decide(stack.client, workflowId, await signed(workflowId, 'alice', keys.alice)))?.approvedBy).toEqual(['alice']);
  expect((await decide(stack.client, workflowId, await signed(workflowId, 'frank', keys.frank)))?.approvedBy).toEqual(['alice', 'frank']);
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');

  // The rule refusals were answered by the validator (nothing written); the unsigned one is recorded with its reason.
  const rows = await approvalRows(stack.db, workflowId);
  expect(rows.map((r) => [r.approver, r.counted])).toEqual([['alice', false], ['alice', true], ['frank', true]]);
  expect(rows[0].reason).toMatch(/^unsigned: /);
  const events = await auditEvents(stack.db, workflowId);
  expect(events.find((e) => e.event === 'approval.ignored')?.detail).toMatchObject({ approver: 'alice', counted: false });
  expect(events.filter((e) => e.event === 'approval.granted').map((e) => [e.detail.approver, e.detail.roles])).toEqual([['alice', undefined], ['frank', ['release-manager']]]);
});

/**
 * Approves by signal and waits until the decision is written, so that no activity of the gate is in flight when the
 * test skips time (env.sleep then hung on the time-skipping server).
 */
async function approveBySignal(workflowId: string, approver: string, count: number) {
  await stack.client.workflow.getHandle(workflowId).signal(approveSignal, { approver });
  await eventually(`${approver}'s approval recorded`, 30_000, async () => ((await approvalRows(stack.db, workflowId)).length >= count ? true : undefined));
}

test('expiry: an approval older than maxAge when quorum is reached no longer counts; the gate asks again', async () => {
  await createTenant(stack.db, 'policy_expiry', { approvals: { prod: { approvers: ['alice', 'bob'], quorum: 2, maxAge: '1h' } } }, 'test');
  const { workflowId, handle } = await runAtGate('policy_expiry', 'expiry');
  await approveBySignal(workflowId, 'alice', 1);
  await env.sleep('2h');
  await approveBySignal(workflowId, 'bob', 2);
  const asked = await eventually('the old approval lapsed', 30_000, async () => {
    const state = await handle.query(approvalQuery);
    return state?.voided?.length ? state : undefined;
  });
  expect(asked.approvedBy).toEqual(['bob']);
  expect(asked.outcome).toBeUndefined();
  expect(asked.voided).toEqual([{ approver: 'alice', subjectHash: asked.subjectHash, reason: expect.stringContaining("more than 1h (the policy's maxAge)") }]);
  await approveBySignal(workflowId, 'alice', 3);
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');
  const lapsed = (await auditEvents(stack.db, workflowId)).filter((e) => e.event === 'approval.lapsed');
  expect(lapsed.map((e) => e.detail.approvers)).toEqual([['alice']]);
});

test('a timeout never counts as approval: one approval short of quorum expires the run, prod never runs', async () => {
  await createTenant(stack.db, 'policy_timeout', { approvals: { prod: { approvers: ['alice', 'bob'], quorum: 2, timeout: '4h' } } }, 'test');
  const { workflowId } = await runAtGate('policy_timeout', 'timeout');
  await approveBySignal(workflowId, 'alice', 1);
  const result = await stack.result(workflowId);
  expect(result).toMatchObject({ outcome: 'approval_expired', reason: 'no quorum within 4h' });
  const promoted = (await auditEvents(stack.db, workflowId)).filter((e) => e.event === 'environment.promoted').map((e) => e.detail.environment);
  expect(promoted).toEqual(['dev', 'stage']);
  expect((await stack.db.selectFrom('releases').select('environment').where('workflow_id', '=', workflowId).execute()).map((r) => r.environment).sort()).toEqual(['dev', 'stage']);
});

test('rotation on an open gate: a key revoked while the run waits no longer counts; a replayed signature by update is refused and audited', async () => {
  await createTenant(stack.db, 'policy_rotate', { approvals: { prod: { approvers: ['alice'], signatures: 'required' } } }, 'test');
  const old = await keyFor('policy_rotate', 'alice', 'rotate-old');
  const first = await runAtGate('policy_rotate', 'rotate-a');
  const { workflowId } = await runAtGate('policy_rotate', 'rotate-b');
  // The gate loaded the old key when it opened; then alice rotates.
  const fresh = await keyFor('policy_rotate', 'alice', 'rotate-new');
  await revokeKey(stack.db, 'policy_rotate', 'alice', old.keyId);
  expect(await refusal(decide(stack.client, workflowId, await signed(workflowId, 'alice', old)))).toMatch(new RegExp(`key ${old.keyId} is not registered for "alice"`));
  // Alice's fresh signature for the first run, sent to this one: refused, and now recorded.
  const forFirst = await signed(first.workflowId, 'alice', fresh);
  const subjectHash = (await stack.client.workflow.getHandle(workflowId).query(approvalQuery))!.subjectHash!;
  expect(await refusal(decide(stack.client, workflowId, { ...forFirst, subjectHash }))).toMatch(/does not verify/);
  expect((await decide(stack.client, workflowId, await signed(workflowId, 'alice', fresh)))?.approvedBy).toEqual(['alice']);
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');
  const rows = await approvalRows(stack.db, workflowId);
  expect(rows.map((r) => [r.counted, r.reason?.match(/not registered|does not verify/)?.[0] ?? null])).toEqual([
    [false, 'not registered'],
    [false, 'does not verify'],
    [true, null],
  ]);
  await decide(stack.client, first.workflowId, forFirst);
  expect((await stack.result(first.workflowId)).outcome).toBe('succeeded');
});

test('ados audit: every row links to the workflow task event that wrote it, scoped to the tenant; the log refuses UPDATE', async () => {
  const { workflowId, handle } = await stack.startRun(exampleRun({ tenantId: 'audit_t', requestedBy: 'carol', approval: { approvers: ['alice'] } }, 'audit'));
  await stack.waitForStatus(workflowId, (s) => s.stage === 'awaiting_approval');
  await decide(stack.client, workflowId, approve('alice'));
  await stack.result(workflowId);

  const rows = await auditTrail(stack.db, stack.config, workflowId, 'audit_t');
  expect(rows.map((r) => r.event)).toEqual(expect.arrayContaining(['run.started', 'approval.requested', 'approval.granted', 'run.finished']));
  const { events } = await handle.fetchHistory();
  const runId = (await handle.describe()).runId;
  for (const row of rows) {
    expect(row.workflowRunId).toBe(runId);
    expect(events?.[row.eventId! - 1]?.eventType).toBe(temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
    expect(row.link).toBe(`${stack.config.webUiUrl}/namespaces/${stack.config.temporalNamespace}/workflows/${workflowId}/${runId}/history/events/${row.eventId}`);
  }
  const text = formatAuditTrail(workflowId, rows);
  expect(text.split('\n')[0]).toBe(`audit trail of ${workflowId} (${rows.length} entries)`);
  expect(text).toContain(`approval.granted       event ${rows.find((r) => r.event === 'approval.granted')!.eventId}  {`);

  await expect(auditTrail(stack.db, stack.config, workflowId, 'other')).rejects.toThrow(TenantRefusedError);
  await expect(sql`UPDATE audit_log SET history_event_id = 1 WHERE workflow_id = ${workflowId}`.execute(stack.db)).rejects.toThrow(/audit_log is append-only: UPDATE is not allowed/);
  await expect(sql`DELETE FROM audit_log WHERE workflow_id = ${workflowId}`.execute(stack.db)).rejects.toThrow(/append-only: DELETE/);

  // The real binary: JSON rows, and another tenant's run refused with exit 6.
  const cli = cleanEnv({ DATABASE_URL: stack.databaseUrl, TEMPORAL_NAMESPACE: stack.config.temporalNamespace, LOG_LEVEL: 'warn' });
  const json = await runAdosCli(['audit', workflowId, '--tenant', 'audit_t', '--json'], cli, 60_000);
  expect(json.code).toBe(0);
  expect((JSON.parse(json.stdout) as unknown[]).length).toBe(rows.length);
  const refused = await runAdosCli(['audit', workflowId, '--tenant', 'other'], cli, 60_000);
  expect(refused.code).toBe(6);
  expect(refused.stderr).toContain(`belongs to tenant audit_t, not to other`);
}, 120_000);
