import { durationSchema, durationToMs } from '../../shared/contract/duration';
import {
  capabilityTaskQueue,
  controlTaskQueue,
  DEFAULT_TASK_QUEUE_PREFIX,
  prefixFromControlTaskQueue,
} from '../../shared/contract/task-queues';
import { formatIssues, InputValidationError, jsonPath } from '../../shared/contract/validation';
import { deliveryWorkflowId, parseDeliveryWorkflowId } from '../../shared/contract/workflow-ids';

describe('delivery workflow IDs', () => {
  it('builds readable IDs', () => {
    expect(deliveryWorkflowId('acme', '20261122-ab12')).toBe('delivery-acme-20261122-ab12');
  });

  it.each([
    ['acme', '20261122-ab12'],
    ['acme_eu', 'r1'],
    ['0', 'release-1.4.2-rc.1'],
    ['t', 'a--b'],
  ])('round-trips tenant %s and run %s', (tenantId, runId) => {
    expect(parseDeliveryWorkflowId(deliveryWorkflowId(tenantId, runId))).toEqual({ tenantId, runId });
  });

  it.each([
    'delivery-acme',
    'delivery-acme-',
    'delivery--r1',
    'deploy-acme-r1',
    'Delivery-acme-r1',
    'delivery-ACME-r1',
    'delivery-acme-_r1',
    'delivery-acme-.r1',
    'delivery-acme-r 1',
    'xdelivery-acme-r1',
    `delivery-acme-${'r'.repeat(129)}`,
    '',
  ])('rejects the malformed ID %p', (workflowId) => {
    expect(parseDeliveryWorkflowId(workflowId)).toBeUndefined();
  });

  it('accepts a run id of the maximum length (128)', () => {
    const runId = 'r'.repeat(128);
    expect(parseDeliveryWorkflowId(`delivery-acme-${runId}`)).toEqual({ tenantId: 'acme', runId });
  });
});

describe('task queues', () => {
  it('names the control queue and the capability queues from the prefix', () => {
    expect(DEFAULT_TASK_QUEUE_PREFIX).toBe('ados');
    expect(controlTaskQueue()).toBe('ados.control');
    expect(controlTaskQueue('team-a')).toBe('team-a.control');
    expect(capabilityTaskQueue('build')).toBe('ados.cap.build');
    expect(capabilityTaskQueue('deploy', 'test_1')).toBe('test_1.cap.deploy');
  });

  it.each(['ados', 'team-a', 'test_run_42'])('recovers the prefix %s from its control queue', (prefix) => {
    expect(prefixFromControlTaskQueue(controlTaskQueue(prefix))).toBe(prefix);
  });

  it.each(['ados.cap.build', 'ados', 'ados.control.extra', 'ados-control'])('refuses %p, which is not a control queue', (queue) => {
    expect(() => prefixFromControlTaskQueue(queue)).toThrow(`task queue "${queue}" is not a control queue (expected "<prefix>.control")`);
  });
});

describe('durationToMs', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['15m', 900_000],
    ['72h', 259_200_000],
    ['3d', 259_200_000],
    ['0s', 0],
  ])('converts %s to %d ms', (text, ms) => {
    expect(durationToMs(text)).toBe(ms);
  });

  it.each(['1.5h', '10', 'h', '-1s', ' 1s', '1 s', '1w', '1H', ''])('refuses %p with the expected format', (text) => {
    expect(() => durationToMs(text)).toThrow(`"${text}" is not a duration: write a whole number and a unit`);
  });

  it('durationSchema refuses zero and malformed durations with a message instead of throwing', () => {
    expect(durationSchema.safeParse('72h').success).toBe(true);
    const zero = durationSchema.safeParse('0m');
    expect(zero.success).toBe(false);
    expect(zero.error!.issues.map((i) => i.message)).toEqual(['must be longer than zero']);
    const bad = durationSchema.safeParse('soon');
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.message)).toEqual(['must be a whole number and a unit (ms, s, m, h, d), e.g. "72h"']);
  });
});

describe('validation helpers', () => {
  it('jsonPath writes indices in brackets and dots between keys', () => {
    expect(jsonPath(['plan', 'tasks', 2, 'dependsOn', 0])).toBe('plan.tasks[2].dependsOn[0]');
    expect(jsonPath([0, 'id'])).toBe('[0].id');
    expect(jsonPath([])).toBe('(root)');
  });

  it('InputValidationError lists every issue with its path', () => {
    const error = new InputValidationError('delivery run', [
      { path: 'tenantId', message: 'bad' },
      { path: 'plan.tasks', message: 'cycle' },
    ]);
    expect(error.message).toBe('invalid delivery run:\ntenantId: bad\nplan.tasks: cycle');
    expect(formatIssues(error.issues)).toBe('tenantId: bad\nplan.tasks: cycle');
    expect(error.name).toBe('InputValidationError');
  });
});
