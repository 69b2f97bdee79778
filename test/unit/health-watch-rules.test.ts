/** The health watch's pure rules: its input (every refusal names its field) and the incident a failed check opens. */
import { incidentOfFailures, validateHealthWatchInput } from '../../shared/contract/remediation/health-watch';
import { healthWatchWorkflowId, parseHealthWatchWorkflowId } from '../../shared/contract/workflow-ids';
import { tenantOfWorkflowId } from '../../shared/contract/workflow-tenant';

const base = { tenantId: 'acme', service: 'api', environment: 'dev', requestedBy: 'ops' };

test('defaults: every 15 s, an incident after 3 failures in a row, a hand-over every 500 checks', () => {
  expect(validateHealthWatchInput(base)).toEqual({ ok: true, value: { ...base, interval: '15s', failuresToOpen: 3, handOverAfterChecks: 500 } });
});

test.each([
  [{ interval: '0s' }, 'interval'],
  [{ interval: 'often' }, 'interval'],
  [{ failuresToOpen: 0 }, 'failuresToOpen'],
  [{ failuresToOpen: 2.5 }, 'failuresToOpen'],
  [{ environment: 'qa' }, 'environment'],
  [{ service: 'Api!' }, 'service'],
  [{ tenantId: 'a-b' }, 'tenantId'],
  [{ environment: 'prod' }, 'approval'],
  [{ unknownKey: 1 }, '(root)'],
])('%j is refused naming %s', (fields, path) => {
  const checked = validateHealthWatchInput({ ...base, ...fields });
  expect(checked.ok).toBe(false);
  if (!checked.ok) expect(checked.issues.map((i) => i.path)).toContain(path);
});

test('a prod watch with approvers is accepted', () => {
  expect(validateHealthWatchInput({ ...base, environment: 'prod', approval: { approvers: ['alice'] } }).ok).toBe(true);
});

test('the process gone is a crash (0.9); a process answering badly is an overload (0.6)', () => {
  expect(incidentOfFailures({ processRunning: false })).toEqual({ kind: 'crash', confidence: 0.9 });
  expect(incidentOfFailures({ processRunning: true })).toEqual({ kind: 'overload', confidence: 0.6 });
});

test('the watch ID names its tenant, service and environment', () => {
  const id = healthWatchWorkflowId('acme', 'billing-api', 'stage');
  expect(id).toBe('health-watch-acme-billing-api-stage');
  expect(parseHealthWatchWorkflowId(id)).toEqual({ tenantId: 'acme', service: 'billing-api', environment: 'stage' });
  expect(tenantOfWorkflowId(id)).toBe('acme');
  expect(parseHealthWatchWorkflowId('health-watch-acme-api-qa')).toBeUndefined();
});
