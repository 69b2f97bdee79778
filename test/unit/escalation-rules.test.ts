/** The escalation ladder's pure decisions (workflows/delivery/escalation-rules.ts). */
import { strategyParallelism, type LadderStep } from '../../shared/contract/delivery/escalation';
import {
  classifyFailure,
  closingStep,
  judgeResolution,
  nextAction,
  nextStrategy,
  type FailureDescriptor,
  type LadderState,
} from '../../workflows/delivery/escalation-rules';

const outage: FailureDescriptor = { message: 'simulated outage', errorType: 'SimulatedOutage', retryState: 'MAXIMUM_ATTEMPTS_REACHED' };
const refusal: FailureDescriptor = { message: 'refused by policy: no', errorType: 'PolicyRefused', nonRetryable: true, retryState: 'NON_RETRYABLE_FAILURE' };
const badInput: FailureDescriptor = { message: 'input.x: bad', errorType: 'InvalidCapabilityInput', nonRetryable: true, retryState: 'NON_RETRYABLE_FAILURE' };
const notStarted: FailureDescriptor = { message: 'activity ScheduleToStart timeout', timeoutType: 'SCHEDULE_TO_START', retryState: 'NON_RETRYABLE_FAILURE' };

function state(overrides: Partial<LadderState> = {}): LadderState {
  return {
    taskId: 'story',
    primary: 'demo.text',
    alternates: ['demo.text.fallback'],
    strategy: { name: 'as-planned', maxParallel: 4 },
    plannedParallelism: 4,
    afterHumanRetry: false,
    ...overrides,
  };
}

const short = (steps: LadderStep[]) => steps.map((s) => `${s.rung} ${s.step}${s.variant ? ` ${s.variant}` : ''}`);

describe('classifyFailure', () => {
  it('sends validation and policy refusals to the human, a schedule-to-start timeout to the routing check, the rest up the ladder', () => {
    expect(classifyFailure(badInput)).toBe('non_retryable');
    expect(classifyFailure(refusal)).toBe('non_retryable');
    expect(classifyFailure(notStarted)).toBe('not_started');
    expect(classifyFailure(outage)).toBe('exhausted');
    // A handler's own non-retryable failure of another type is not a validation or policy refusal: the ladder goes on.
    expect(classifyFailure({ message: 'x', errorType: 'Boom', nonRetryable: true })).toBe('exhausted');
    expect(classifyFailure({ message: 'x', timeoutType: 'START_TO_CLOSE', retryState: 'MAXIMUM_ATTEMPTS_REACHED' })).toBe('exhausted');
    expect(classifyFailure({ message: 'plain error' })).toBe('exhausted');
    expect(classifyFailure(outage, ['SimulatedOutage'])).toBe('non_retryable');
  });
});

describe('closingStep', () => {
  it('says why the rung ended', () => {
    expect(closingStep({ rung: 'retry', variant: 'demo.text' }, outage, 'exhausted', { attempts: 3 })).toEqual({
      rung: 'retry',
      step: 'exhausted',
      variant: 'demo.text',
      reason: 'retry policy exhausted after 3 attempt(s) on demo.text: simulated outage',
    });
    expect(closingStep({ rung: 'retry', variant: 'demo.text' }, refusal, 'non_retryable', { attempts: 3 })).toEqual({
      rung: 'retry',
      step: 'skipped',
      variant: 'demo.text',
      reason: 'non-retryable PolicyRefused on demo.text, not retried: refused by policy: no',
    });
    expect(closingStep({ rung: 'swap', variant: 'demo.text.fallback' }, badInput, 'non_retryable', { attempts: 3 }).step).toBe('exhausted');
    expect(
      closingStep({ rung: 'retry', variant: 'deploy' }, notStarted, 'not_started', { attempts: 3, problem: 'no worker polls capability deploy (task queue ados.cap.deploy)' }),
    ).toEqual({ rung: 'retry', step: 'exhausted', variant: 'deploy', reason: 'no worker polls capability deploy (task queue ados.cap.deploy)' });
    expect(closingStep({ rung: 'mutate', variant: 'build' }, { message: 'hb', timeoutType: 'HEARTBEAT', retryState: 'TIMEOUT' }, 'exhausted', { attempts: 3 }).reason).toBe(
      'the retry policy timed out on build: hb',
    );
    expect(closingStep({ rung: 'retry', variant: 'build' }, { message: 'x', errorType: 'Boom', retryState: 'NON_RETRYABLE_FAILURE' }, 'exhausted', { attempts: 3 }).reason).toBe(
      'a non-retryable Boom (not retried) on build: x',
    );
  });
});

describe('nextStrategy', () => {
  it('halves, then goes serial, then has nothing left', () => {
    expect(nextStrategy({ name: 'as-planned', maxParallel: 8 }, 8)).toEqual({ name: 'halved', maxParallel: 4 });
    expect(nextStrategy({ name: 'halved', maxParallel: 4 }, 8)).toEqual({ name: 'serial', maxParallel: 1 });
    expect(nextStrategy({ name: 'serial', maxParallel: 1 }, 8)).toBeUndefined();
  });

  it('skips a strategy that would not lower parallelism', () => {
    // maxParallel 2: halved is 1, the same as serial; maxParallel 1: nothing is lower.
    expect(nextStrategy({ name: 'as-planned', maxParallel: 2 }, 2)).toEqual({ name: 'halved', maxParallel: 1 });
    expect(nextStrategy({ name: 'halved', maxParallel: 1 }, 2)).toBeUndefined();
    expect(nextStrategy({ name: 'as-planned', maxParallel: 1 }, 1)).toBeUndefined();
    expect([strategyParallelism('as-planned', 5), strategyParallelism('halved', 5), strategyParallelism('serial', 5)]).toEqual([5, 2, 1]);
  });
});

describe('nextAction: the ladder', () => {
  it('after the retry policy: swap to the first alternate', () => {
    const decision = nextAction(state(), { rung: 'retry', variant: 'demo.text' }, 'exhausted', 'why');
    expect(decision.action).toEqual({ kind: 'swap', variant: 'demo.text.fallback' });
    expect(short(decision.steps)).toEqual(['swap taken demo.text.fallback']);
    expect(decision.steps[0].reason).toBe('demo.text failed; rerouting task "story" to alternate variant demo.text.fallback');
  });

  it('tries every alternate in registry order, then re-plans with lower parallelism on the primary', () => {
    const s = state({ alternates: ['a1', 'a2'] });
    expect(nextAction(s, { rung: 'swap', variant: 'a1' }, 'exhausted', 'why').action).toEqual({ kind: 'swap', variant: 'a2' });
    const decision = nextAction(s, { rung: 'swap', variant: 'a2' }, 'exhausted', 'why');
    expect(decision.action).toEqual({ kind: 'mutate', variant: 'demo.text', strategy: { name: 'halved', maxParallel: 2 } });
    expect(decision.steps).toEqual([
      {
        rung: 'mutate',
        step: 'taken',
        variant: 'demo.text',
        from: { name: 'as-planned', maxParallel: 4 },
        to: { name: 'halved', maxParallel: 2 },
        reason: 're-planning the remaining tasks from as-planned (maxParallel 4) to halved (maxParallel 2) and running task "story" again on demo.text',
      },
    ]);
  });

  it('skips the swap rung, with its reason, for a capability with no alternate', () => {
    const decision = nextAction(state({ primary: 'build', alternates: [] }), { rung: 'retry', variant: 'build' }, 'exhausted', 'why');
    expect(short(decision.steps)).toEqual(['swap skipped', 'mutate taken build']);
    expect(decision.steps[0].reason).toBe('capability build has no alternate variant in the registry');
  });

  it('goes to the human after the mutate rung, carrying the last reason', () => {
    const decision = nextAction(state(), { rung: 'mutate', variant: 'demo.text' }, 'exhausted', 'retry policy exhausted after 3 attempt(s) on demo.text: boom');
    expect(decision).toEqual({
      steps: [{ rung: 'human', step: 'taken', reason: 'retry policy exhausted after 3 attempt(s) on demo.text: boom' }],
      action: { kind: 'human', reason: 'retry policy exhausted after 3 attempt(s) on demo.text: boom' },
    });
  });

  it('skips the mutate rung when the run is already serial', () => {
    const decision = nextAction(state({ alternates: [], strategy: { name: 'serial', maxParallel: 1 } }), { rung: 'retry', variant: 'demo.text' }, 'exhausted', 'why');
    expect(short(decision.steps)).toEqual(['swap skipped', 'mutate skipped', 'human taken']);
    expect(decision.steps[1].reason).toBe('the run is already on strategy serial (maxParallel 1): no strategy with lower parallelism left');
    expect(decision.action).toEqual({ kind: 'human', reason: 'why' });
  });

  it('skips the mutate rung when nobody serves the primary: lower parallelism cannot start a task', () => {
    const unserved = 'no worker polls capability deploy (task queue ados.cap.deploy)';
    const decision = nextAction(state({ primary: 'deploy', alternates: [], primaryUnserved: unserved }), { rung: 'retry', variant: 'deploy' }, 'not_started', unserved);
    expect(short(decision.steps)).toEqual(['swap skipped', 'mutate skipped', 'human taken']);
    expect(decision.steps[1].reason).toBe(`lower parallelism cannot help: ${unserved}`);
  });

  it('but still swaps an unserved primary to its alternate', () => {
    const decision = nextAction(state({ primaryUnserved: 'no worker polls capability demo.text (task queue q)' }), { rung: 'retry', variant: 'demo.text' }, 'not_started', 'x');
    expect(decision.action).toEqual({ kind: 'swap', variant: 'demo.text.fallback' });
  });

  it('sends a non-retryable refusal straight to the human, saying why each rung is skipped', () => {
    const decision = nextAction(state(), { rung: 'retry', variant: 'demo.text' }, 'non_retryable', 'non-retryable PolicyRefused ...');
    expect(short(decision.steps)).toEqual(['swap skipped', 'mutate skipped', 'human taken']);
    expect(decision.steps[0].reason).toMatch(/^a non-retryable error \(validation or policy refusal\) needs a person/);
    expect(decision.action).toEqual({ kind: 'human', reason: 'non-retryable PolicyRefused ...' });
    // Refused by an alternate: only the rung not yet reached is listed as skipped.
    expect(short(nextAction(state(), { rung: 'swap', variant: 'demo.text.fallback' }, 'non_retryable', 'r').steps)).toEqual(['mutate skipped', 'human taken']);
    expect(short(nextAction(state(), { rung: 'mutate', variant: 'demo.text' }, 'non_retryable', 'r').steps)).toEqual(['human taken']);
  });

  it('after a human asked to retry, a failure goes back to the human', () => {
    const decision = nextAction(state({ afterHumanRetry: true }), { rung: 'retry', variant: 'demo.text' }, 'exhausted', 'boom');
    expect(decision.action).toEqual({ kind: 'human', reason: 'failed again after a human asked to retry (alternates and strategies were tried before): boom' });
    expect(short(decision.steps)).toEqual(['human taken']);
  });
});

describe('judgeResolution', () => {
  const open = { open: [{ environment: 'dev' as const, taskId: 'story' }], aborted: false, finished: false };

  it('counts a well-formed resolution of a waiting task', () => {
    expect(judgeResolution(open, { taskId: 'story', action: 'skip', by: 'alice', comment: 'later' })).toEqual({
      counts: true,
      resolution: { taskId: 'story', action: 'skip', by: 'alice', comment: 'later' },
      target: { environment: 'dev', taskId: 'story' },
    });
    expect(judgeResolution(open, { taskId: 'story', action: 'retry', by: 'alice', environment: 'dev' })).toMatchObject({ counts: true });
  });

  it('refuses with a reason naming the field or the state', () => {
    expect(judgeResolution(open, { taskId: 'story', action: 'ignore', by: 'alice' })).toEqual({
      counts: false,
      reason: 'invalid resolution: action: must be one of retry, skip, abort',
    });
    expect(judgeResolution(open, { taskId: 'story', action: 'skip', by: '' })).toEqual({
      counts: false,
      reason: 'invalid resolution: by: say who resolves (--as <user>)',
    });
    expect(judgeResolution(open, { taskId: 'other', action: 'skip', by: 'alice' })).toEqual({
      counts: false,
      reason: 'task "other" does not await a resolution; awaiting: story (dev)',
    });
    expect(judgeResolution(open, { taskId: 'story', action: 'skip', by: 'alice', environment: 'stage' })).toEqual({
      counts: false,
      reason: 'task "story" in stage does not await a resolution; awaiting: story (dev)',
    });
    expect(judgeResolution({ ...open, open: [] }, { taskId: 'story', action: 'skip', by: 'alice' })).toMatchObject({
      counts: false,
      reason: expect.stringMatching(/^no task of this run awaits a human resolution/),
    });
    expect(judgeResolution({ ...open, aborted: true }, { taskId: 'story', action: 'skip', by: 'alice' })).toEqual({
      counts: false,
      reason: 'the run is being aborted; nothing else can be resolved',
    });
    expect(judgeResolution({ ...open, finished: true }, { taskId: 'story', action: 'skip', by: 'alice' })).toEqual({
      counts: false,
      reason: 'the run has finished; nothing awaits a resolution',
    });
    expect(judgeResolution(open, null)).toMatchObject({ counts: false, reason: expect.stringMatching(/^invalid resolution: /) });
  });
});
