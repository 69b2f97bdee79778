/**
 * The governance gates on delivery runs' promotions (time-skipping test server, PGlite): a freeze on stage holds the
 * run after dev until the freeze ends (`wait`), or ends it `refused` (`refuse`); a tenant's allowlist without
 * `deploy` refuses the promotion; and the freeze store itself (idempotent add, list, remove, bad input named).
 */
import { InputValidationError } from '../../shared/contract/validation';
import { addFreeze, listFreezes, removeFreeze, setGovernanceOverrides } from '../../shared/node/governance/store';
import { useTimeSkippingStack, type AdosStack } from '../helpers/stack';
import { auditEvents, exampleRun, taskRows } from './fixtures';

let stack: AdosStack;
useTimeSkippingStack('governance-freeze', (ready) => {
  stack = ready.stack;
});

const inHours = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();

/** dev → stage, no prod (so no approval gate), for `tenantId`. */
const devAndStage = (tenantId: string) => exampleRun({ tenantId, requestedBy: 'carol', environments: ['dev', 'stage'], approval: undefined }, tenantId);

test('a freeze on stage with policy wait: the run promotes dev, waits for the freeze to end, then runs stage', async () => {
  const { freeze } = await addFreeze(stack.db, { tenantId: 'frzwait', environment: 'stage', start: inHours(-1), end: inHours(2), reason: 'release freeze', policy: 'wait', createdBy: 'ops' });
  const { workflowId } = await stack.startRun(devAndStage('frzwait'));
  const waiting = await stack.waitForStatus(workflowId, (s) => s.waitingFor?.includes('change freeze on stage') === true);
  expect(waiting.completedEnvironments).toEqual(['dev']);
  expect(await taskRows(stack.db, workflowId, 'stage')).toEqual([]);

  // Awaiting the result lets the test server skip the freeze's two hours.
  const result = await stack.result(workflowId);
  expect(result).toMatchObject({ outcome: 'succeeded', completedEnvironments: ['dev', 'stage'] });
  const events = await auditEvents(stack.db, workflowId);
  const seq = (event: string, environment?: string) => events.findIndex((e) => e.event === event && (environment === undefined || e.detail.environment === environment));
  expect(events.filter((e) => e.event === 'governance.blocked').map((e) => e.detail)).toEqual([
    expect.objectContaining({ gate: 'freeze', action: 'deploy', environment: 'stage', until: freeze.end, freezePolicy: 'wait' }),
  ]);
  expect(seq('environment.promoted', 'dev')).toBeLessThan(seq('governance.waiting'));
  expect(seq('governance.waiting')).toBeLessThan(seq('task.running', 'stage'));
});

test('a freeze with policy refuse: the run ends refused before stage, the reason naming the freeze', async () => {
  await addFreeze(stack.db, { tenantId: 'frzrefuse', environment: '*', start: inHours(-1), end: inHours(1), reason: 'incident review', policy: 'refuse', createdBy: 'ops' });
  const { workflowId } = await stack.startRun(devAndStage('frzrefuse'));
  const result = await stack.result(workflowId);
  // "*" covers dev too: nothing runs.
  expect(result).toMatchObject({ outcome: 'refused', completedEnvironments: [] });
  expect(result.reason).toMatch(/^freeze: dev of frzrefuse is frozen until .*: incident review \(freeze frz_[0-9a-f]{10}, /);
  expect(await taskRows(stack.db, workflowId)).toEqual([]);
  const run = await stack.db.selectFrom('runs').select('status').where('workflow_id', '=', workflowId).executeTakeFirstOrThrow();
  expect(run.status).toBe('refused');
});

test("a tenant's stage allowlist without deploy refuses the promotion to stage", async () => {
  await setGovernanceOverrides(stack.db, 'frzallow', { allowlists: { stage: ['restart', 'noop'] } });
  const { workflowId } = await stack.startRun(devAndStage('frzallow'));
  const result = await stack.result(workflowId);
  expect(result).toMatchObject({ outcome: 'refused', completedEnvironments: ['dev'], reason: 'allowlist: deploy is not allowed in stage (allowed there: restart, noop)' });
});

test('freeze store: the same window twice is one freeze; list and remove; bad input is refused naming the field', async () => {
  const window = { tenantId: 'frzstore', environment: 'prod' as const, start: inHours(10), end: inHours(12), reason: 'launch', createdBy: 'ops' };
  const first = await addFreeze(stack.db, window);
  const again = await addFreeze(stack.db, { ...window, reason: 'launch (again)' });
  expect(first.created).toBe(true);
  expect(again).toEqual({ freeze: first.freeze, created: false });
  expect(first.freeze).toMatchObject({ environment: 'prod', policy: 'wait', reason: 'launch' });
  expect(await listFreezes(stack.db, 'frzstore', { environment: 'prod' })).toEqual([first.freeze]);
  expect(await listFreezes(stack.db, 'frzstore', { environment: 'dev' })).toEqual([]);

  expect(await removeFreeze(stack.db, 'frzstore', first.freeze.id)).toEqual(first.freeze);
  expect(await listFreezes(stack.db, 'frzstore')).toEqual([]);
  await expect(removeFreeze(stack.db, 'frzstore', first.freeze.id)).rejects.toThrow(/tenant frzstore has no freeze frz_[0-9a-f]{10} in force/);
  await expect(removeFreeze(stack.db, 'someone_else', 'frz_0000000000')).rejects.toBeInstanceOf(InputValidationError);

  const issuesOf = async (input: Parameters<typeof addFreeze>[1]) => {
    const error = await addFreeze(stack.db, input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputValidationError);
    return (error as InputValidationError).issues;
  };
  expect(await issuesOf({ ...window, environment: 'qa' as never })).toEqual([{ path: 'environment', message: 'an environment (dev, stage, prod) or "*" for all' }]);
  expect(await issuesOf({ ...window, end: window.start })).toEqual([{ path: 'end', message: 'must be after start' }]);
  expect(await issuesOf({ ...window, start: 'tomorrow' })).toEqual([{ path: 'start', message: 'start: an ISO-8601 time, e.g. 2030-12-24T00:00:00Z' }]);
});
