/**
 * The meta-policy's pure rules: a pattern is never served under k tenants or n runs (whatever its rewards), the
 * budget bands, the priors' confidence, and what a warm start does to an arm's LinUCB estimate.
 */
import { contextVector } from '../../shared/contract/learning/strategy/bandit';
import { budgetBand, budgetBandRange, isServable, metaSettingsSchema, warmStartOf, type MetaPatternAggregate } from '../../shared/contract/learning/strategy/meta';
import { addPrior, armTheta, initialArm, scoreArms } from '../../shared/node/learning/strategy/linucb';

const aggregate = (tenants: number, runs: number): MetaPatternAggregate => ({
  goalType: 'deploy',
  budgetBand: 'tight',
  tenants,
  runs,
  arms: [
    { arm: 'serial', runs: Math.ceil(runs / 2), rewardSum: 0.8 * Math.ceil(runs / 2), rewardSquareSum: 0.64 * Math.ceil(runs / 2) },
    { arm: 'as-planned', runs: Math.floor(runs / 2), rewardSum: 0.2 * Math.floor(runs / 2), rewardSquareSum: 0.04 * Math.floor(runs / 2) },
  ],
});

test('never served under k tenants or n runs, for any k, n and sizes; served from both', () => {
  for (const minTenants of [2, 3, 5]) {
    for (const minRuns of [1, 30, 100]) {
      const settings = metaSettingsSchema.parse({ minTenants, minRuns });
      for (let tenants = 0; tenants <= 6; tenants++) {
        for (const runs of [0, 1, 29, 30, 99, 100, 500]) {
          const served = warmStartOf(aggregate(tenants, runs), ['serial', 'as-planned'], settings);
          const enough = tenants >= minTenants && runs >= minRuns;
          expect(isServable({ tenants, runs }, settings)).toBe(enough);
          if (!enough) expect(served).toBeUndefined();
          else if (runs > 0) expect(served).toMatchObject({ tenants, runs });
        }
      }
    }
  }
});

test('the defaults are 3 tenants and 30 runs; fewer than 2 tenants cannot be configured', () => {
  const defaults = metaSettingsSchema.parse({});
  expect(defaults).toMatchObject({ minTenants: 3, minRuns: 30 });
  expect(warmStartOf(aggregate(2, 1000), ['serial'], defaults)).toBeUndefined();
  expect(warmStartOf(aggregate(3, 29), ['serial'], defaults)).toBeUndefined();
  expect(warmStartOf(aggregate(3, 30), ['serial'], defaults)).toBeDefined();
  const refused = metaSettingsSchema.safeParse({ minTenants: 1 });
  expect(refused.success).toBe(false);
  expect(refused.error!.issues[0]).toMatchObject({ path: ['minTenants'], message: expect.stringContaining('at least 2') });
});

test('a prior carries its confidence: weight min(runs, cap), a 95 % interval that narrows with runs; only the tenant\'s arms', () => {
  const settings = metaSettingsSchema.parse({ maxPriorRuns: 10 });
  const noisy: MetaPatternAggregate = { goalType: 'build', budgetBand: 'loose', tenants: 4, runs: 40, arms: [{ arm: 'serial', runs: 4, rewardSum: 2, rewardSquareSum: 1.5 }, { arm: 'halved', runs: 36, rewardSum: 18, rewardSquareSum: 13.5 }] };
  const warm = warmStartOf(noisy, ['serial', 'halved'], settings)!;
  const [halved, serial] = [warm.arms.find((a) => a.arm === 'halved')!, warm.arms.find((a) => a.arm === 'serial')!];
  expect(serial).toMatchObject({ meanReward: 0.5, runs: 4, weight: 4 });
  expect(halved).toMatchObject({ meanReward: 0.5, runs: 36, weight: 10 });
  expect(halved.high - halved.low).toBeLessThan(serial.high - serial.low);
  expect(warmStartOf(noisy, ['as-planned'], settings)).toBeUndefined();
  expect(warmStartOf(noisy, ['serial'], { ...settings, maxPriorRuns: 0 })).toBeUndefined();
});

test('a warm start moves an arm\'s estimate at the context toward the prior mean and narrows its bonus, without pulls', () => {
  const x = contextVector({ type: 'deploy', complexity: 'medium', risk: 'low', maxCost: 10 }, 0.5, new Date('2030-01-01T06:00:00Z'));
  const fresh = initialArm('serial', x.length);
  const warmed = addPrior(fresh, x, 0.8, 10);
  const [before] = scoreArms([fresh], x, 1);
  const [after] = scoreArms([warmed], x, 1);
  expect(before.estimate).toBe(0);
  // Ridge with 10 pseudo-runs at x: θᵀx = 10·‖x‖²·0.8 / (1 + 10·‖x‖²).
  const norm = x.reduce((s, v) => s + v * v, 0);
  expect(after.estimate).toBeCloseTo((10 * norm * 0.8) / (1 + 10 * norm), 10);
  expect(after.bonus).toBeLessThan(before.bonus);
  expect(warmed).toMatchObject({ pulls: 0, rewardSum: 0 });
  expect(armTheta(warmed).some((v) => v !== 0)).toBe(true);
});

test('budget bands partition maxCost', () => {
  expect([0, 49.99, 50, 199, 200, 1e9].map(budgetBand)).toEqual(['tight', 'tight', 'moderate', 'moderate', 'loose', 'loose']);
  expect(budgetBandRange('tight')).toEqual({ low: 0, high: 50 });
  expect(budgetBandRange('loose')).toEqual({ low: 200 });
});
