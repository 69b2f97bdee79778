/** Tenant priority → Temporal priority key, and the `priority` every start carries (pure, no server). */
import { priorityKeyFor, TEMPORAL_PRIORITY_LEVELS, tenantPriority } from '../../shared/contract/tenancy/priority';
import { defaultProfile } from '../../shared/contract/tenancy/profile';

describe('priorityKeyFor', () => {
  it('spreads tenant priorities 10 (most urgent) … 1 over the five server levels, 10 first', () => {
    const keys = Array.from({ length: 10 }, (_, i) => priorityKeyFor(10 - i));
    expect(keys).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    expect(TEMPORAL_PRIORITY_LEVELS).toBe(5);
  });

  it('puts the default tenant priority on the server default key (3 of 1..5)', () => {
    expect(priorityKeyFor(defaultProfile().limits.priority)).toBe(3);
  });

  it('never inverts: a more urgent tenant never gets a later key', () => {
    for (const levels of [1, 3, 5, 10, 20]) {
      for (let p = 1; p < 10; p++) expect(priorityKeyFor(p + 1, levels)).toBeLessThanOrEqual(priorityKeyFor(p, levels));
      expect(priorityKeyFor(10, levels)).toBe(1);
      expect(priorityKeyFor(1, levels)).toBe(levels);
    }
  });

  it('refuses a priority outside 1..10 naming limits.priority', () => {
    expect(() => priorityKeyFor(0)).toThrow('limits.priority must be a whole number from 1 to 10 (got 0)');
    expect(() => priorityKeyFor(11)).toThrow('limits.priority');
    expect(() => priorityKeyFor(2.5)).toThrow('limits.priority');
  });
});

describe('tenantPriority', () => {
  it('is the priority key, the tenant as fairness key and the profile weight', () => {
    const limits = { ...defaultProfile().limits, priority: 9, fairnessWeight: 2.5 };
    expect(tenantPriority('acme', limits)).toEqual({ priorityKey: 1, fairnessKey: 'acme', fairnessWeight: 2.5 });
  });

  it('without a profile (a start without admission) uses the default one', () => {
    expect(tenantPriority('acme')).toEqual({ priorityKey: 3, fairnessKey: 'acme', fairnessWeight: 1 });
  });
});
