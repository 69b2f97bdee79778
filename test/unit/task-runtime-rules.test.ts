/** The task runtime's pure rules and contract: blocks and their keys, the cursor over out-of-order batches, sub-batches of a failed batch, generations, input and update validation, the progress line. */
import { validateTaskRuntimeInput } from '../../shared/contract/task-runtime/input';
import { blockOf, blockTaskId, extensionProblem, formatSeconds, parallelismProblem, progressLine, type TaskRuntimeProgress } from '../../shared/contract/task-runtime/messages';
import { parseWorkItemLine } from '../../shared/node/task-runtime/store';
import { commitCompleted, generationBase, handOverReserve, rateAndEta, subBatches, type CompletedBatch } from '../../workflows/task-runtime/runtime-rules';
import { progressBar } from '../../client/task-runtime';

const base = { tenantId: 'acme', taskId: 't1', source: { kind: 'generator', items: 10 }, capability: 'batch' };

test('blocks: item n·size+1 … (n+1)·size is block n', () => {
  expect([1, 100, 101, 200, 201].map((seq) => blockOf(seq, 100))).toEqual([0, 0, 1, 1, 2]);
  expect([blockTaskId(3), blockTaskId(3, 0), blockTaskId(3, 6)]).toEqual(['block-3', 'block-3', 'block-3+6']);
});

test('a failed range: its first open item runs alone, the rest per contiguous run; a split block scheduled again runs its runs as they are', () => {
  expect(subBatches([7, 8, 9, 10], true)).toEqual([{ fromSeq: 7, toSeq: 7 }, { fromSeq: 8, toSeq: 10 }]);
  expect(subBatches([3, 5, 6, 9], true)).toEqual([{ fromSeq: 3, toSeq: 3 }, { fromSeq: 5, toSeq: 6 }, { fromSeq: 9, toSeq: 9 }]);
  expect(subBatches([7], true)).toEqual([{ fromSeq: 7, toSeq: 7 }]);
  expect(subBatches([7, 8, 9, 12, 13], false)).toEqual([{ fromSeq: 7, toSeq: 9 }, { fromSeq: 12, toSeq: 13 }]);
  expect(subBatches([], false)).toEqual([]);
});

test('the cursor moves only over batches that continue it, in order', () => {
  const completed = new Map<number, CompletedBatch>();
  const start = { cursor: 100, processed: 100, deadLettered: 0, batches: 1 };
  completed.set(201, { fromSeq: 201, toSeq: 300, processed: 100, deadLettered: 0 });
  expect(commitCompleted(start, completed)).toEqual(start);
  completed.set(101, { fromSeq: 101, toSeq: 200, processed: 90, deadLettered: 10 });
  expect(commitCompleted(start, completed)).toEqual({ cursor: 300, processed: 290, deadLettered: 10, batches: 3 });
  expect(completed.size).toBe(0);
});

test('every run of the chain fences above every earlier one; the reserve grows with parallelism', () => {
  expect(generationBase(1)).toBeGreaterThan(generationBase(0) + 999_999);
  expect(handOverReserve(4)).toBeGreaterThan(handOverReserve(1));
  expect(rateAndEta(0, 1000, 10)).toEqual({ ratePerSecond: 0 });
  expect(rateAndEta(100, 10_000, 50)).toEqual({ ratePerSecond: 10, etaSeconds: 5 });
});

test('input: defaults, and every refusal names its field', () => {
  const ok = validateTaskRuntimeInput(base);
  expect(ok.ok && ok.value).toMatchObject({ batchSize: 100, maxParallel: 4, budget: '24h', onFailure: { retries: 3, then: 'dead-letter' }, handOverAtEvents: 5000, resume: false });
  const issues = (raw: unknown) => {
    const checked = validateTaskRuntimeInput(raw);
    return checked.ok ? [] : checked.issues.map((i) => `${i.path}: ${i.message}`);
  };
  expect(issues({ ...base, batchSize: 5000 })).toEqual(['batchSize: at most 1000']);
  expect(issues({ ...base, source: { kind: 'generator', items: 0 } })).toEqual(['source.items: must be at least 1']);
  expect(issues({ ...base, pacing: 'soon' })).toEqual(['pacing: must be a whole number and a unit (ms, s, m, h, d), e.g. "72h"']);
  expect(issues({ ...base, onFailure: { then: 'ignore' } })).toEqual(['onFailure.then: must be "dead-letter" or "stop"']);
  expect(issues({ ...base, budget: '31d' })).toEqual(['budget: at most 30d']);
  expect(issues({ ...base, capability: 'team.unknown' })[0]).toMatch(/^capability: unknown capability "team.unknown"/);
  expect(issues({ ...base, colour: 'red' })).toEqual(['(root): Unrecognized key: "colour"']);
});

test('update validators refuse out-of-range values with the field and the fix', () => {
  expect(parallelismProblem({ parallelism: 3 })).toBeUndefined();
  expect(parallelismProblem({ parallelism: 1.5 })).toBe('parallelism: must be a whole number from 1 to 64 (got 1.5)');
  expect(parallelismProblem(undefined)).toBe('parallelism: must be a whole number from 1 to 64 (got undefined)');
  expect(extensionProblem({ by: '6h' }, 3_600_000)).toBeUndefined();
  expect(extensionProblem({ by: '0h' }, 0)).toBe('by: must be a duration longer than zero, e.g. "6h" (got "0h")');
  expect(extensionProblem({ by: '30d' }, 3_600_000)).toBe('by: the budget would exceed 30d in total (it is 1h now)');
});

test('NDJSON lines: JSON objects with a key, nothing else', () => {
  expect(parseWorkItemLine('{"key":"a","payload":{"x":1}}')).toEqual({ item: { key: 'a', payload: { x: 1 } } });
  expect(parseWorkItemLine('{"key":""}')).toEqual({ problem: 'key: must not be empty' });
  expect(parseWorkItemLine('nope')).toMatchObject({ problem: expect.stringMatching(/^not JSON/) });
  expect(parseWorkItemLine(JSON.stringify({ key: 'big', payload: 'x'.repeat(2000) }))).toEqual({ problem: expect.stringMatching(/^payload: at most 1500 characters/) });
});

test('the progress line and bar', () => {
  const progress = { stage: 'running', done: 2500, total: 10_000, ratePerSecond: 12.5, etaSeconds: 600, inFlight: 2, parallelism: 4, chainIndex: 3, deadLettered: 1, paused: false, deadline: '2030-01-01T00:00:00.000Z' } as TaskRuntimeProgress;
  expect(progressLine(progress)).toBe('running · 2,500/10,000 (25.0%) · 12.5/s · ETA 10m 0s · 2/4 batches · run #3 · dead letters 1 · deadline 2030-01-01T00:00:00.000Z');
  expect(formatSeconds(3725)).toBe('1h 2m 5s');
  expect(progressBar(25, 100, 8)).toBe('[██░░░░░░]');
});
