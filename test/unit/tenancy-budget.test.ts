/** Budget arithmetic, the 80% alert, admission and the tenant profile schema (pure, no server). */
import { admissionDecision, ALERT_RATIO, budgetAlerts, budgetStanding, budgetWindows } from '../../shared/contract/tenancy/budget';
import { applyProfilePatch, defaultProfile, profileChanges, type TenantProfile } from '../../shared/contract/tenancy/profile';

const NOW = new Date('2026-11-22T15:30:00Z');

function profile(perDay: number | null, perMonth: number | null = null, active = true): TenantProfile {
  const base = defaultProfile();
  return { ...base, active, budget: { ...base.budget, perDay, perMonth } };
}

describe('budget windows', () => {
  it('the UTC day and month that contain now', () => {
    const windows = budgetWindows(new Date('2026-03-31T23:59:59.999Z'));
    expect(windows.day).toEqual({ start: new Date('2026-03-31T00:00:00Z'), key: '2026-03-31' });
    expect(windows.month).toEqual({ start: new Date('2026-03-01T00:00:00Z'), key: '2026-03' });
    expect(budgetWindows(new Date('2026-04-01T00:00:00Z')).month.key).toBe('2026-04');
  });
});

describe('the 80% alert', () => {
  it('is raised at exactly 80% of a limit, not a millionth below', () => {
    const limit = 10;
    const at = budgetStanding({ perDay: limit, perMonth: null, unit: 'usd' }, { day: limit * ALERT_RATIO, month: 8 });
    expect(at[0]).toMatchObject({ window: 'day', level: 'alert', spent: 8 });
    expect(at[1]).toMatchObject({ window: 'month', limit: null, level: 'ok' });
    const below = budgetStanding({ perDay: limit, perMonth: null, unit: 'usd' }, { day: 7.999999, month: 0 });
    expect(below[0].level).toBe('ok');
    expect(budgetAlerts(at, 'usd', NOW)).toEqual([
      expect.objectContaining({ window: 'day', period: '2026-11-22', limit: 10, spent: 8, message: 'spend today is 8 usd, 80% of the per-day budget of 10 usd' }),
    ]);
    expect(budgetAlerts(below, 'usd', NOW)).toEqual([]);
  });

  it('an admitted run that may bring spend to 80% raises it; one that stays below does not', () => {
    const alerting = admissionDecision('acme', profile(10), { day: 7, month: 7 }, 1, NOW);
    expect(alerting).toMatchObject({ admitted: true, alerts: [{ window: 'day', period: '2026-11-22', spent: 8 }] });
    expect(admissionDecision('acme', profile(10), { day: 7, month: 7 }, 0.99, NOW)).toEqual({ admitted: true, alerts: [] });
  });
});

describe('admission', () => {
  it('admits a run that brings spend exactly to the budget', () => {
    const decision = admissionDecision('acme', profile(10), { day: 9.99, month: 9.99 }, 0.01, NOW);
    expect(decision.admitted).toBe(true);
    expect(decision.alerts.map((a) => a.window)).toEqual(['day']);
      // 0.1 + 0.2 in floating point is above 0.3.
    expect(admissionDecision('acme', profile(0.3), { day: 0.1, month: 0.1 }, 0.2, NOW).admitted).toBe(true);
  });

  it('refuses a run that would exceed the budget by 0.01, naming the limit and by how much', () => {
    const decision = admissionDecision('acme', profile(10), { day: 9.99, month: 9.99 }, 0.02, NOW);
    expect(decision).toMatchObject({
      admitted: false,
      reason: 'tenant acme: this run would exceed the per-day budget of 10 usd by 0.01 usd (spent today: 9.99 usd, goal.maxCost: 0.02 usd)',
    });
  });

  it('refuses any run once a budget is spent, even one that costs nothing', () => {
    const decision = admissionDecision('acme', profile(null, 200), { day: 0, month: 200 }, 0, NOW);
    expect(decision).toMatchObject({ admitted: false, reason: 'tenant acme: the per-month budget of 200 usd is spent (200 usd this month)' });
    expect(decision.alerts).toEqual([expect.objectContaining({ window: 'month', period: '2026-11' })]);
  });

  it('checks the month too when the day has room', () => {
    const decision = admissionDecision('acme', profile(50, 100), { day: 1, month: 95 }, 10, NOW);
    expect(decision).toMatchObject({ admitted: false });
    expect(decision.admitted === false && decision.reason).toContain('would exceed the per-month budget of 100 usd by 5 usd');
  });

  it('refuses a deactivated tenant whatever its budget', () => {
    expect(admissionDecision('acme', profile(null, null, false), { day: 0, month: 0 }, 0, NOW)).toMatchObject({
      admitted: false,
      reason: expect.stringContaining('tenant acme is deactivated'),
    });
  });

  it('has no limit without a budget', () => {
    expect(admissionDecision('acme', defaultProfile(), { day: 1e9, month: 1e9 }, 1e9, NOW)).toEqual({ admitted: true, alerts: [] });
  });
});

describe('the tenant profile', () => {
  it('has the documented defaults', () => {
    expect(defaultProfile()).toEqual({
      displayName: null,
      active: true,
      budget: { perDay: null, perMonth: null, unit: 'usd' },
      limits: {
        maxConcurrentRuns: 5,
        maxConcurrentTasksPerAgent: 2,
        priority: 5,
        fairnessWeight: 1,
        runStartsPerMinute: 600,
        runStartBurst: 100,
        agentTaskStartsPerMinute: 6000,
        agentTaskStartBurst: 1000,
      },
      policies: { planner: {}, tool: {}, agent: {}, generation: {} },
      approvals: { roles: {}, prod: null },
      metaLearning: false,
      notifications: { webhookUrl: null },
    });
  });

  it('applies a partial change and keeps the rest', () => {
    const changed = applyProfilePatch(defaultProfile(), { budget: { perDay: 10 }, limits: { priority: 9 }, policies: { tool: { allow: ['git'] } } });
    expect(changed).toMatchObject({ ok: true, value: { budget: { perDay: 10, perMonth: null, unit: 'usd' }, limits: { priority: 9, maxConcurrentRuns: 5 }, policies: { tool: { allow: ['git'] }, planner: {} } } });
    if (changed.ok) expect(profileChanges(defaultProfile(), changed.value)).toEqual({
      'budget.perDay': { before: null, after: 10 },
      'limits.priority': { before: 5, after: 9 },
      'policies.tool': { before: {}, after: { allow: ['git'] } },
    });
  });

  it.each([
    [{ limits: { priority: 11 } }, 'limits.priority', 'must be a whole number from 1 to 10'],
    [{ limits: { priority: 0 } }, 'limits.priority', 'must be a whole number from 1 to 10'],
    [{ limits: { maxConcurrentRuns: 2.5 } }, 'limits.maxConcurrentRuns', 'must be a whole number from 1 to 1000'],
    [{ limits: { fairnessWeight: 0 } }, 'limits.fairnessWeight', 'must be a number above 0, at most 1000'],
    [{ budget: { perDay: -1 } }, 'budget.perDay', 'must be an amount ≥ 0, or none for no limit'],
    [{ budget: { unit: '$' } }, 'budget.unit', 'must be a cost unit such as usd or tokens'],
    [{ policies: { planner: 'fast' } }, 'policies.planner', 'must be a JSON object of policy settings'],
    [{ displayName: '' }, 'displayName', 'must not be empty'],
    [{ metaLearning: 'yes' }, 'metaLearning', 'must be true or false'],
  ])('refuses %j naming %s', (patch, path, message) => {
    const checked = applyProfilePatch(defaultProfile(), patch);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.issues).toEqual([{ path, message: expect.stringContaining(message) }]);
  });

  it('refuses an unknown field', () => {
    const checked = applyProfilePatch(defaultProfile(), { budgets: {} });
    expect(checked.ok).toBe(false);
  });
});
