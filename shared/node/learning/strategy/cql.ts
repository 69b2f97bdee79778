/**
 * Conservative Q-learning (Kumar et al., 2020), CQL(H) with a linear Q per action, over a replay buffer of finished
 * runs. Each transition is one run of a tenant: its 15-dim state, the arm it ran, its reward, and the state of the
 * tenant's next run (none for the last: terminal). A step of gradient descent on
 *
 *   ½ (Q(s,a) − y)²  +  cqlAlpha · (log Σ_b exp Q(s,b) − Q(s,a)),   y = r + γ · max_b Q̄(s′,b)
 *
 * where Q̄ is the previous epoch's Q (a target network). The second term pushes down the Q of actions the data does
 * not show in a state and up the one it does: the policy is not drawn to arms it has no evidence for. Pure.
 */
export interface Transition {
  state: number[];
  action: string;
  reward: number;
  /** The tenant's next run's state; absent for its last run. */
  next?: number[];
}

export interface CqlOptions {
  actions: readonly string[];
  discount: number;
  /** Weight of the conservative penalty (0: plain fitted Q-learning). */
  cqlAlpha: number;
  learningRate: number;
  epochs: number;
}

export const DEFAULT_CQL_OPTIONS: Omit<CqlOptions, 'actions'> = { discount: 0.99, cqlAlpha: 1, learningRate: 0.05, epochs: 200 };

/** A linear Q: per action a weight vector over [1, state…]. */
export type QWeights = Record<string, number[]>;

/** Q(s, a) for each action. */
export function qValues(weights: QWeights, state: readonly number[]): Record<string, number> {
  const q: Record<string, number> = {};
  for (const [action, w] of Object.entries(weights)) q[action] = w[0] + state.reduce((sum, x, i) => sum + x * w[i + 1], 0);
  return q;
}

/** The action with the highest Q (the first of equals, in `actions` order). */
export function greedyAction(weights: QWeights, state: readonly number[], actions: readonly string[]): string {
  const q = qValues(weights, state);
  return actions.reduce((best, a) => (q[a] > q[best] ? a : best), actions[0]);
}

/** Trains the linear Q on the buffer. Deterministic: the same buffer and options give the same weights. */
export function trainCql(buffer: readonly Transition[], options: CqlOptions): QWeights {
  let weights = initialWeights(buffer, options);
  for (let epoch = 0; epoch < options.epochs; epoch++) weights = cqlEpoch(weights, buffer, options);
  return weights;
}

/**
 * trainCql in slices of `every` epochs, handing each checkpoint (the epochs done, the weights) to `onCheckpoint`
 * (a heartbeat) and yielding between slices; `from` resumes at a checkpoint. Same weights as trainCql: each epoch
 * depends only on the weights before it.
 */
export async function trainCqlResumable(
  buffer: readonly Transition[],
  options: CqlOptions,
  onCheckpoint: (epoch: number, weights: QWeights) => void | Promise<void>,
  from?: { epoch: number; weights: QWeights },
  every = 20,
): Promise<QWeights> {
  let weights = from ? copy(from.weights) : initialWeights(buffer, options);
  for (let epoch = from?.epoch ?? 0; epoch < options.epochs; ) {
    const end = Math.min(options.epochs, epoch + every);
    for (; epoch < end; epoch++) weights = cqlEpoch(weights, buffer, options);
    await onCheckpoint(epoch, weights);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return weights;
}

const copy = (weights: QWeights): QWeights => Object.fromEntries(Object.entries(weights).map(([a, w]) => [a, [...w]]));

function initialWeights(buffer: readonly Transition[], options: CqlOptions): QWeights {
  if (buffer.length === 0) throw new Error('the replay buffer is empty: at least one finished run is needed to train');
  const dimension = buffer[0].state.length + 1;
  return Object.fromEntries(options.actions.map((a) => [a, new Array<number>(dimension).fill(0)]));
}

/** One epoch of gradient descent; the weights it starts from are the target network. */
function cqlEpoch(current: QWeights, buffer: readonly Transition[], options: CqlOptions): QWeights {
  const dimension = buffer[0].state.length + 1;
  const weights = copy(current);
  const target = current;
  const rate = options.learningRate / buffer.length;
  const gradient: QWeights = Object.fromEntries(options.actions.map((a) => [a, new Array<number>(dimension).fill(0)]));
  for (const t of buffer) {
    const features = [1, ...t.state];
    const q = qValues(weights, t.state);
    const future = t.next ? Math.max(...Object.values(qValues(target, t.next))) : 0;
    const tdError = q[t.action] - (t.reward + options.discount * future);
    // Softmax of Q over actions, for the gradient of the log-sum-exp term.
    const top = Math.max(...Object.values(q));
    const exp = options.actions.map((a) => Math.exp(q[a] - top));
    const total = exp.reduce((s, e) => s + e, 0);
    options.actions.forEach((a, k) => {
      const coefficient = (a === t.action ? tdError - options.cqlAlpha : 0) + options.cqlAlpha * (exp[k] / total);
      for (let i = 0; i < dimension; i++) gradient[a][i] += coefficient * features[i];
    });
  }
  for (const a of options.actions) for (let i = 0; i < dimension; i++) weights[a][i] -= rate * gradient[a][i];
  return weights;
}
