import { contextVector, rewardOf } from '../../shared/contract/learning/strategy/bandit';
import { applyArm, findArm, orderVariants, retryAttempts, rolloutWaves, strategySettingsSchema, STRATEGY_ARMS } from '../../shared/contract/learning/strategy/strategy';
import { nextStrategy } from '../../workflows/delivery/escalation-rules';

describe('strategy arms', () => {
  test('each arm is named once, documented, and applies its parallelism to the plan', () => {
    expect(new Set(STRATEGY_ARMS.map((a) => a.name)).size).toBe(STRATEGY_ARMS.length);
    for (const arm of STRATEGY_ARMS) expect(arm.description.length).toBeGreaterThan(10);
    expect(applyArm(findArm('persistent')!, 6)).toEqual({ name: 'halved', maxParallel: 3, arm: 'persistent', variants: 'primary-first', retry: 'persistent', rollout: 'sequential' });
  });

  test('fallback-first starts on the first alternate and keeps the primary as the first fallback', () => {
    expect(orderVariants('demo.text', ['demo.text.fallback', 'other'], 'fallback-first')).toEqual({ lead: 'demo.text.fallback', alternates: ['demo.text', 'other'] });
    expect(orderVariants('build', [], 'fallback-first')).toEqual({ lead: 'build', alternates: [] });
    expect(orderVariants('demo.text', ['demo.text.fallback'])).toEqual({ lead: 'demo.text', alternates: ['demo.text.fallback'] });
  });

  test('retry levels halve or double the attempts within bounds', () => {
    expect([retryAttempts('light', 3), retryAttempts('light', 1), retryAttempts('standard', 3), retryAttempts('persistent', 3), retryAttempts('persistent', 80)]).toEqual([2, 1, 3, 6, 100]);
  });

  test('dev and stage run together only when asked, listed, and not high risk', () => {
    expect(rolloutWaves(['dev', 'stage', 'prod'], 'dev-stage-together', 'medium')).toEqual([['dev', 'stage'], ['prod']]);
    expect(rolloutWaves(['dev', 'stage', 'prod'], 'dev-stage-together', 'high')).toEqual([['dev'], ['stage'], ['prod']]);
    expect(rolloutWaves(['stage', 'prod'], 'dev-stage-together', 'low')).toEqual([['stage'], ['prod']]);
    expect(rolloutWaves(['dev', 'stage'], 'sequential', 'low')).toEqual([['dev'], ['stage']]);
  });

  test('the ladder\'s mutation lowers parallelism and keeps the arm\'s other dimensions', () => {
    const applied = applyArm(findArm('fallback-first')!, 8);
    expect(nextStrategy(applied, 8)).toEqual({ ...applied, name: 'halved', maxParallel: 4 });
  });

  test('settings refuse unknown and repeated arms with the fix', () => {
    expect(strategySettingsSchema.safeParse({ arms: ['teleport'] }).error?.issues[0].message).toMatch(/must be one of as-planned, halved/);
    expect(strategySettingsSchema.safeParse({ arms: ['serial', 'serial'] }).error?.issues[0].message).toBe('list each arm once');
    expect(strategySettingsSchema.parse({}).arms).toEqual(STRATEGY_ARMS.map((a) => a.name));
  });
});

describe('context and reward', () => {
  test('the context is the documented 10 dimensions, time of day from the given time', () => {
    const x = contextVector({ type: 'deploy', complexity: 'medium', risk: 'high', maxCost: 100 }, 0.75, new Date('2030-01-01T06:00:00Z'));
    expect(x).toEqual([0, 0, 1, 0, 0, 0.5, 0.5, 1, 0.75, 0.25]);
  });

  test('reward = quality − cost − riskPenalty', () => {
    const r = rewardOf({ succeeded: true, durationSeconds: 600, reportedCost: 50, escalations: 2 }, { risk: 'medium', maxCost: 100 });
    expect(r.quality).toBeCloseTo(0.5 + 0.5 / Math.E, 12);
    expect(r.cost).toBeCloseTo(0.15, 12);
    expect(r.riskPenalty).toBeCloseTo(0.2, 12);
    expect(r.reward).toBeCloseTo(r.quality - 0.15 - 0.2, 12);
    expect(rewardOf({ succeeded: false, durationSeconds: 1, reportedCost: 1, escalations: 9 }, { risk: 'high', maxCost: 0 }).reward).toBeCloseTo(-0.3 - 1, 12);
  });
});
