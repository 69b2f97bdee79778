/** Backpressure levels from backlog and age, their transitions, the retry-after and the thresholds' configuration (pure). */
import {
  atLeast,
  backpressureReading,
  DEFAULT_BACKPRESSURE_THRESHOLDS as T,
  overloadRefusal,
  queueLevel,
  retryAfterSeconds,
  thresholdProblems,
} from '../../shared/contract/tenancy/backpressure';
import type { CapabilityQueueReport } from '../../shared/contract/routing';
import { ConfigError, loadBackpressureConfig } from '../../shared/node/config';

function report(capability: string, approximateCount: number, approximateAgeSeconds: number, tasksDispatchRate = 0): CapabilityQueueReport {
  return {
    capability,
    taskQueue: `ados.cap.${capability}`,
    checked: true,
    pollers: [],
    livePollers: 1,
    backlog: { approximateCount, approximateAgeSeconds, tasksAddRate: 0, tasksDispatchRate },
    describedAt: '2026-11-22T15:30:00.000Z',
  };
}

describe('queueLevel', () => {
  it('rises normal → warning → critical → overload as the backlog reaches each threshold, and falls back the same way', () => {
    const backlogs = [0, 99, 100, 399, 400, 999, 1000, 5000, 999, 400, 399, 100, 99, 0];
    expect(backlogs.map((b) => queueLevel(b, 0, T))).toEqual([
      'normal', 'normal', 'warning', 'warning', 'critical', 'critical', 'overload', 'overload', 'critical', 'critical', 'warning', 'warning', 'normal', 'normal',
    ]);
  });

  it('rises with the age of the oldest task alone', () => {
    expect([0, 29.9, 30, 89, 90, 299, 300].map((age) => queueLevel(1, age, T))).toEqual(['normal', 'normal', 'warning', 'warning', 'critical', 'critical', 'overload']);
  });

  it('takes the higher of the two: a short backlog that waits long, a long one that moves', () => {
    expect(queueLevel(5, 95, T)).toBe('critical');
    expect(queueLevel(1200, 2, T)).toBe('overload');
  });
});

describe('backpressureReading', () => {
  it('is normal with nothing waiting', () => {
    expect(backpressureReading([report('build', 0, 0)], T)).toEqual({ level: 'normal', backlog: 0, oldestSeconds: 0, reason: 'backpressure normal' });
  });

  it('is decided by the worst queue, with the line `ados run why` prints', () => {
    const reading = backpressureReading([report('verify', 150, 10), report('build', 420, 95.4), report('deploy', 0, 0)], T);
    expect(reading).toEqual({ level: 'critical', queue: 'ados.cap.build', capability: 'build', backlog: 420, oldestSeconds: 95, reason: 'backpressure critical: build backlog 420, oldest 95 s' });
  });

  it('at a tie of levels, names the queue with the larger backlog', () => {
    expect(backpressureReading([report('a', 120, 0), report('b', 300, 0)], T).capability).toBe('b');
  });

  it('at overload gives a retry-after from the drain time at the dispatch rate', () => {
    const reading = backpressureReading([report('build', 1400, 40, 10)], T);
    expect(reading).toMatchObject({ level: 'overload', retryAfterSeconds: 100 });
    expect(overloadRefusal('acme', reading)).toBe(
      'backpressure overload on task queue ados.cap.build (capability build): backlog 1400, oldest task waiting 40 s; new runs of tenant acme are refused until it drains: retry after 100 s',
    );
  });

  it('counts a queue Temporal could not describe as normal, and lists it', () => {
    const unchecked: CapabilityQueueReport = { ...report('build', 0, 0), checked: false, error: 'not implemented', backlog: undefined };
    expect(backpressureReading([unchecked], T)).toEqual({
      level: 'normal', backlog: 0, oldestSeconds: 0, reason: 'backpressure normal (not checked: ados.cap.build)', unchecked: ['ados.cap.build'],
    });
    expect(backpressureReading([unchecked, report('deploy', 500, 0)], T)).toMatchObject({ level: 'critical', capability: 'deploy', unchecked: ['ados.cap.build'] });
  });
});

describe('retryAfterSeconds', () => {
  it('uses the configured retry-after with no dispatch to go by, and stays within 10..600 s', () => {
    expect(retryAfterSeconds(2000, 0, T)).toBe(T.retryAfterSeconds);
    expect(retryAfterSeconds(1000, 1000, T)).toBe(10);
    expect(retryAfterSeconds(100_000, 1, T)).toBe(600);
    // Overload by age with a backlog under the critical count: nothing to drain by count.
    expect(retryAfterSeconds(3, 5, T)).toBe(T.retryAfterSeconds);
  });
});

describe('atLeast', () => {
  it('orders the levels', () => {
    expect(atLeast('critical', 'critical')).toBe(true);
    expect(atLeast('overload', 'critical')).toBe(true);
    expect(atLeast('warning', 'critical')).toBe(false);
  });
});

describe('thresholds', () => {
  it('the defaults are valid; bad ladders are named', () => {
    expect(thresholdProblems(T)).toEqual([]);
    expect(thresholdProblems({ ...T, backlog: { warning: 400, critical: 400, overload: 1000 } })).toEqual(['backlog: warning < critical < overload is required (got 400, 400, 1000)']);
    expect(thresholdProblems({ ...T, ageSeconds: { warning: 0, critical: 1, overload: 2 }, retryAfterSeconds: 0 })).toEqual([
      'ageSeconds: every threshold must be a number above 0 (got 0, 1, 2)',
      'retryAfterSeconds: must be a number above 0 (got 0)',
    ]);
  });

  it('loadBackpressureConfig: defaults, overrides, and errors naming the variable', () => {
    expect(loadBackpressureConfig({})).toEqual(T);
    expect(loadBackpressureConfig({ ADOS_BACKPRESSURE_BACKLOG: '10, 20,30', ADOS_BACKPRESSURE_AGE_SECONDS: '1,2,3', ADOS_BACKPRESSURE_RETRY_AFTER_SECONDS: '5' })).toEqual({
      backlog: { warning: 10, critical: 20, overload: 30 },
      ageSeconds: { warning: 1, critical: 2, overload: 3 },
      retryAfterSeconds: 5,
    });
    expect(() => loadBackpressureConfig({ ADOS_BACKPRESSURE_BACKLOG: '100,400' })).toThrow(ConfigError);
    expect(() => loadBackpressureConfig({ ADOS_BACKPRESSURE_BACKLOG: '100,400' })).toThrow('ADOS_BACKPRESSURE_BACKLOG="100,400": must be three task counts "warning,critical,overload", e.g. 100,400,1000');
    expect(() => loadBackpressureConfig({ ADOS_BACKPRESSURE_AGE_SECONDS: '90,30,300' })).toThrow('ADOS_BACKPRESSURE_AGE_SECONDS="90,30,300": must rise strictly, above 0: warning < critical < overload');
  });
});
