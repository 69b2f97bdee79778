import { DEFAULT_CQL_OPTIONS, greedyAction, qValues, trainCql, type Transition } from '../../shared/node/learning/strategy/cql';
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
