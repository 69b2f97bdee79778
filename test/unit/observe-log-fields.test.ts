import pino from 'pino';
import { Writable } from 'node:stream';
import { tenantOfWorkflowId } from '../../shared/contract/workflow-tenant';
import { activityLogContext, activityLogMixin, runLogFieldsOf } from '../../shared/node/metrics/log-fields';
import { quantile } from '../../shared/node/metrics/ados-metrics';

describe('tenantOfWorkflowId', () => {
  it.each([
    ['delivery-acme-r1', 'acme'],
    ['extraction-acme_eu-seed-0123abcd', 'acme_eu'],
    ['remediation-acme-web-20300101T120000123Z', 'acme'],
    ['runtime-acme-task-1', 'acme'],
    ['tenant-gate-acme', 'acme'],
    ['anomaly-monitor-acme-cpu', 'acme'],
    ['anomaly-investigation-acme-cpu-20300101T120000000Z', 'acme'],
    ['anomaly-acme-cpu-20300101T120000000Z', 'acme'],
    ['learning-strategy-promotion-acme-v2', 'acme'],
  ])('%s → %s', (workflowId, tenant) => expect(tenantOfWorkflowId(workflowId)).toBe(tenant));

  it.each(['', 'nodash', 'delivery-ACME-r1', 'delivery--r1', 'learning-transfer-2030-01-01T12:00:00Z'])('%j has no tenant', (workflowId) => expect(tenantOfWorkflowId(workflowId)).toBeUndefined());
});

describe('runLogFieldsOf (the Runtime logger bridge)', () => {
  it('workflow lines: workflowId and runId, plus the tenant', () => {
    expect(runLogFieldsOf({ workflowId: 'delivery-acme-r1', runId: 'abc', workflowType: 'deliveryRun', sdkComponent: 'workflow' })).toEqual({
      workflowId: 'delivery-acme-r1',
      runId: 'abc',
      tenant: 'acme',
    });
  });

  it("activity lines: the SDK's workflowRunId becomes runId; activityType is kept", () => {
    expect(runLogFieldsOf({ workflowId: 'runtime-acme-t', workflowRunId: 'r9', activityType: 'batch' })).toEqual({
      workflowId: 'runtime-acme-t',
      runId: 'r9',
      tenant: 'acme',
      activityType: 'batch',
    });
  });

  it('SDK lines without a workflow get nothing', () => expect(runLogFieldsOf({ taskQueue: 'q' })).toEqual({}));
});

describe('activityLogMixin', () => {
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    return { logger: pino({ mixin: activityLogMixin }, stream), lines };
  }

  it('adds the running activity’s fields to every line inside it, and none outside', async () => {
    const { logger, lines } = capture();
    logger.info('before');
    await activityLogContext.run({ workflowId: 'delivery-acme-r1', runId: 'r1', tenant: 'acme', activityType: 'build' }, async () => {
      await Promise.resolve();
      logger.child({ capability: 'build' }).info('inside');
    });
    expect(lines[0]).not.toHaveProperty('workflowId');
    expect(lines[1]).toMatchObject({ msg: 'inside', workflowId: 'delivery-acme-r1', runId: 'r1', tenant: 'acme', activityType: 'build', capability: 'build' });
  });

  it('leaves a field a child logger binds to the child, so no key repeats in the JSON line', () => {
    const raw: string[] = [];
    const logger = pino({ mixin: activityLogMixin }, new Writable({ write: (chunk: Buffer, _e, done) => (raw.push(chunk.toString()), done()) }));
    activityLogContext.run({ workflowId: 'delivery-acme-r1', tenant: 'acme', activityType: 'build' }, () => logger.child({ tenant: 'acme' }).info('x'));
    expect(raw[0].match(/"tenant"/g)).toHaveLength(1);
    expect(JSON.parse(raw[0])).toMatchObject({ tenant: 'acme', workflowId: 'delivery-acme-r1' });
  });
});

describe('quantile (approval latency)', () => {
  it('nearest rank', () => {
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([5, 1, 3, 2, 4], 0.9)).toBe(5);
    expect(quantile([5, 1, 3, 2, 4], 1)).toBe(5);
    expect(quantile([7], 0.5)).toBe(7);
    expect(quantile([], 0.5)).toBeUndefined();
  });
});
