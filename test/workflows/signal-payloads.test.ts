/**
 * Every signal and update handler parses its payload strictly, on the time-skipping test server with the real
 * workers and activities against PGlite. A signal that does not parse is audited as ignored with the reason and never
 * throws inside the workflow (the run goes on); an update that does not parse is refused by its validator and
 * nothing is written. The signal's name decides: a `reject` signal whose payload says "approve" cannot approve.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { approveSignal, decideUpdate, rejectSignal } from '../../shared/contract/approval';
import { resolveSignal, resolveUpdate } from '../../shared/contract/delivery/escalation';
import { eventually } from '../helpers/eventually';
import { useTimeSkippingStack, type AdosStack } from '../helpers/stack';
import { approvalRows, auditEvents, exampleRun } from './fixtures';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;
let stack: AdosStack;
useTimeSkippingStack('signal-payloads', (ready) => ({ env, workflowBundle, stack } = ready));

const HUGE = 'x'.repeat(100_000);

/** Bad payloads for the approval messages: [what, payload, a field path the reason must name]. */
const BAD_DECISIONS: Array<[string, unknown, string]> = [
  ['null', null, '(root)'],
  ['not an object', 'alice', '(root)'],
  ['missing approver', {}, 'approver'],
  ['wrong type', { approver: 42 }, 'approver'],
  ['empty approver', { approver: '' }, 'approver'],
  ['extra key', { approver: 'alice', role: 'admin' }, 'role'],
  ['a 100 kB approver', { approver: HUGE }, 'approver'],
  ['a 100 kB comment', { approver: 'alice', comment: HUGE }, 'comment'],
  ['comment of the wrong type', { approver: 'alice', comment: { text: 'hi' } }, 'comment'],
];

/** Bad payloads for `resolve`. */
const BAD_RESOLUTIONS: Array<[string, unknown, string]> = [
  ['null', null, '(root)'],
  ['missing fields', {}, 'taskId'],
  ['wrong types', { taskId: 7, action: 'skip', by: 'alice' }, 'taskId'],
  ['unknown action', { taskId: 'build-api', action: 'approve', by: 'alice' }, 'action'],
  ['extra key', { taskId: 'build-api', action: 'skip', by: 'alice', force: true }, 'force'],
  ['a 100 kB person', { taskId: 'build-api', action: 'skip', by: HUGE }, 'by'],
  ['unknown environment', { taskId: 'build-api', action: 'skip', by: 'alice', environment: 'qa' }, 'environment'],
];

async function runAtGate(tag: string) {
  const started = await stack.startRun(exampleRun({ tenantId: 'payloads', requestedBy: 'carol', approval: { approvers: ['alice', 'bob'] } }, tag));
  await stack.waitForStatus(started.workflowId, (s) => s.stage === 'awaiting_approval');
  return started;
}

test('a reject signal whose payload says "approve" is ignored with the reason: the signal name decides', async () => {
  const { workflowId, handle } = await runAtGate('reject-says-approve');
  await handle.signal(rejectSignal, { decision: 'approve', approver: 'bob' } as never);
  const status = await stack.waitForStatus(workflowId, (s) => (s.approval?.decisions.length ?? 0) >= 1);
  expect(status.stage).toBe('awaiting_approval');
  expect(status.approval?.approvedBy).toEqual([]);
  expect(status.approval?.decisions).toEqual([
    { decision: 'reject', approver: 'bob', counted: false, via: 'signal', reason: expect.stringContaining('invalid reject signal') },
  ]);
  expect(status.approval?.decisions[0].reason).toContain('"decision"');
  // The run still waits for a real decision, and a real one still counts.
  await handle.signal(approveSignal, { approver: 'alice' });
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');
});

test.each([
  ['approve', approveSignal],
  ['reject', rejectSignal],
] as const)('malformed %s signals are audited as ignored with the field named, and the run goes on', async (name, signal) => {
  const { workflowId, handle } = await runAtGate(`bad-${name}`);
  for (const [, payload] of BAD_DECISIONS) await handle.signal(signal, payload as never);
  const status = await stack.waitForStatus(workflowId, (s) => (s.approval?.decisions.length ?? 0) >= BAD_DECISIONS.length);
  expect(status.stage).toBe('awaiting_approval');
  expect(status.approval?.outcome).toBeUndefined();
  // The decisions are in the gate at once; their rows are written by activities a moment later.
  const rows = await eventually('every refused signal recorded', 30_000, async () => {
    const written = await approvalRows(stack.db, workflowId);
    return written.length >= BAD_DECISIONS.length ? written : undefined;
  });
  expect(rows).toHaveLength(BAD_DECISIONS.length);
  BAD_DECISIONS.forEach(([what, , field], i) => {
    expect({ what, decision: rows[i].decision, counted: rows[i].counted, via: rows[i].via }).toEqual({ what, decision: name, counted: false, via: 'signal' });
    expect({ what, reason: rows[i].reason?.startsWith(`invalid ${name} signal: ${field}`) || rows[i].reason?.includes(`"${field}"`) }).toEqual({ what, reason: true });
    // What the audit keeps of a refused payload is short.
    expect(rows[i].approver.length).toBeLessThan(300);
    expect((rows[i].comment ?? '').length).toBeLessThan(300);
  });
  const ignored = (await auditEvents(stack.db, workflowId)).filter((e) => e.event === 'approval.ignored');
  expect(ignored).toHaveLength(BAD_DECISIONS.length);
  await handle.signal(approveSignal, { approver: 'bob', comment: 'after the noise' });
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');
});

test('malformed decide updates are refused by the validator and nothing is written', async () => {
  const { workflowId, handle } = await runAtGate('bad-decide');
  const updates: Array<[string, unknown, string]> = [
    ...BAD_DECISIONS.map(([what, payload, field]): [string, unknown, string] => [
      what,
      payload !== null && typeof payload === 'object' ? { decision: 'approve', ...payload } : payload,
      field,
    ]),
    ['unknown decision', { decision: 'maybe', approver: 'alice' }, 'decision'],
  ];
  for (const [what, payload, field] of updates) {
    const refused = await handle.executeUpdate(decideUpdate, { args: [payload as never] }).catch((e: unknown) => e);
    expect({ what, refused: refused instanceof WorkflowUpdateFailedError }).toEqual({ what, refused: true });
    const message = (refused as WorkflowUpdateFailedError).cause?.message ?? '';
    expect({ what, named: message.startsWith('invalid decision:') && (message.includes(`${field}:`) || message.includes(`"${field}"`)) }).toEqual({ what, named: true });
  }
  expect(await approvalRows(stack.db, workflowId)).toEqual([]);
  const status = await stack.waitForStatus(workflowId, (s) => s.stage === 'awaiting_approval');
  expect(status.approval?.decisions).toEqual([]);
  await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver: 'alice' }] });
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');
});

test('malformed resolve signals are audited as ignored; malformed resolve updates are refused', async () => {
  const { workflowId, handle } = await runAtGate('bad-resolve');
  for (const [, payload] of BAD_RESOLUTIONS) await handle.signal(resolveSignal, payload as never);
  for (const [what, payload, field] of BAD_RESOLUTIONS) {
    const refused = await handle.executeUpdate(resolveUpdate, { args: [payload as never] }).catch((e: unknown) => e);
    expect({ what, refused: refused instanceof WorkflowUpdateFailedError }).toEqual({ what, refused: true });
    const message = (refused as WorkflowUpdateFailedError).cause?.message ?? '';
    expect({ what, named: message.startsWith('invalid resolution:') && (message.includes(`${field}:`) || message.includes(`"${field}"`)) }).toEqual({ what, named: true });
  }
  await handle.signal(approveSignal, { approver: 'alice' });
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');
  const ignored = (await auditEvents(stack.db, workflowId)).filter((e) => e.event === 'escalation.resolve_ignored');
  // Only the signals: the refused updates wrote nothing.
  expect(ignored).toHaveLength(BAD_RESOLUTIONS.length);
  BAD_RESOLUTIONS.forEach(([what, , field], i) => {
    const detail = ignored[i].detail as { reason: string; by: string; counted: boolean };
    expect({ what, counted: detail.counted, named: detail.reason.includes(`${field}:`) || detail.reason.includes(`"${field}"`) }).toEqual({ what, counted: false, named: true });
    expect(detail.by.length).toBeLessThan(300);
  });
});
