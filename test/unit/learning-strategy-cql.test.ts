import { DEFAULT_CQL_OPTIONS, greedyAction, qValues, trainCql, trainCqlResumable, type QWeights, type Transition } from '../../shared/node/learning/strategy/cql';
import { loadStrategyTrainingScheduleConfig, strategyTrainingScheduleOptions } from '../../shared/node/learning/strategy/training-schedule';
import { seededRandom } from '../../shared/node/learning/transfer/random';

const ACTIONS = ['seen', 'also-seen', 'absent'];

/** Runs that only ever played `seen` and `also-seen`; `seen` pays more. */
function buffer(): Transition[] {
  const random = seededRandom(3);
  const states = Array.from({ length: 60 }, () => Array.from({ length: 15 }, () => random()));
  return states.map((state, i) => ({
    state,
    action: i % 2 === 0 ? 'seen' : 'also-seen',
    reward: i % 2 === 0 ? 0.8 : 0.2,
    ...(states[i + 1] ? { next: states[i + 1] } : {}),
  }));
}

describe('conservative Q-learning', () => {
  const data = buffer();
  const options = { ...DEFAULT_CQL_OPTIONS, actions: ACTIONS, discount: 0.99 };
  const conservative = trainCql(data, options);
  const plain = trainCql(data, { ...options, cqlAlpha: 0 });

  test('the penalty lowers Q for an action absent from the data', () => {
    for (const { state } of data.slice(0, 10)) {
      expect(qValues(conservative, state).absent).toBeLessThan(qValues(plain, state).absent);
      expect(qValues(conservative, state).absent).toBeLessThan(qValues(conservative, state).seen);
    }
  });

  test('the greedy action is never the one the data has no evidence for', () => {
    for (const { state } of data) expect(greedyAction(conservative, state, ACTIONS)).not.toBe('absent');
  });

  test('an empty buffer is refused', () => {
    expect(() => trainCql([], options)).toThrow('the replay buffer is empty');
  });
});

describe('training in checkpoints (the training activity heartbeats them)', () => {
  const data = buffer();
  const options = { ...DEFAULT_CQL_OPTIONS, actions: ACTIONS, discount: 0.99, epochs: 60 };

  test('gives the same weights as one pass, and a resume from any checkpoint ends the same', async () => {
    const whole = trainCql(data, options);
    const checkpoints: { epoch: number; weights: QWeights }[] = [];
    const sliced = await trainCqlResumable(data, options, (epoch, weights) => void checkpoints.push({ epoch, weights: JSON.parse(JSON.stringify(weights)) as QWeights }));
    expect(sliced).toEqual(whole);
    expect(checkpoints.map((c) => c.epoch)).toEqual([20, 40, 60]);
    const resumed = await trainCqlResumable(data, options, () => undefined, checkpoints[0]);
    expect(resumed).toEqual(whole);
  });
});

describe('the shadow-training Schedule', () => {
  test('daily by default, all tenants, overlap SKIP; a bad variable is named', () => {
    const options = strategyTrainingScheduleOptions(loadStrategyTrainingScheduleConfig({}), 'ados');
    expect(options).toMatchObject({ scheduleId: 'learning-strategy-training', spec: { intervals: [{ every: '24h' }], jitter: '30m' }, action: { workflowType: 'strategyTraining', taskQueue: 'ados.control', args: [{}] } });
    expect(strategyTrainingScheduleOptions(loadStrategyTrainingScheduleConfig({ ADOS_STRATEGY_TRAINING_SCHEDULE_CRON: '0 3 * * *' }), 'ados').spec).toMatchObject({ cronExpressions: ['0 3 * * *'] });
    expect(() => loadStrategyTrainingScheduleConfig({ ADOS_STRATEGY_TRAINING_SCHEDULE_EVERY: '10s' })).toThrow(/ADOS_STRATEGY_TRAINING_SCHEDULE_EVERY: must be at least 1m/);
  });
});
