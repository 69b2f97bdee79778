import { judgePromotion, judgeWatch, parseStrategyPromotionWorkflowId, strategyPromotionInputSchema, strategyPromotionWorkflowId } from '../../shared/contract/learning/strategy/promotion';

const estimate = (value: number, half: number) => ({ value, low: value - half, high: value + half, n: 100 });

describe('strategy promotion rules', () => {
  test('a model is better only when its lower bound clears live\'s mean plus the margin', () => {
    expect(judgePromotion(estimate(0.8, 0.1), estimate(0.6, 0.05), 0.05)).toMatchObject({ better: true });
    expect(judgePromotion(estimate(0.8, 0.1), estimate(0.6, 0.05), 0.05).lead).toBeCloseTo(0.05, 12);
    // A higher point estimate is not enough when the bound does not clear the margin.
    expect(judgePromotion(estimate(0.75, 0.2), estimate(0.6, 0.05), 0.05)).toMatchObject({ better: false });
  });

  test('the watch waits for its runs, then keeps or rolls back against the pre-promotion level', () => {
    expect(judgeWatch({ runs: 2, meanReward: 0.1 }, 3, 0.5)).toBe('watch');
    expect(judgeWatch({ runs: 3, meanReward: 0.5 }, 3, 0.5)).toBe('keep');
    expect(judgeWatch({ runs: 3, meanReward: 0.49 }, 3, 0.5)).toBe('rollback');
  });

  test('the workflow ID names the tenant and the version, and parses back', () => {
    const id = strategyPromotionWorkflowId('acme_1', 7);
    expect(id).toBe('learning-strategy-promotion-acme_1-v7');
    expect(parseStrategyPromotionWorkflowId(id)).toEqual({ tenantId: 'acme_1', modelVersion: 7 });
    expect(parseStrategyPromotionWorkflowId('delivery-acme-r1')).toBeUndefined();
  });

  test('the input names each field it refuses', () => {
    const parsed = strategyPromotionInputSchema.safeParse({ tenantId: 'Acme', modelVersion: 0, requestedBy: '', approval: { approvers: [] } });
    expect(parsed.success).toBe(false);
    const paths = parsed.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['tenantId', 'modelVersion', 'requestedBy', 'approval.approvers']));
  });
});
