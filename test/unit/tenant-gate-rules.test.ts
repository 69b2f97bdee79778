/**
 * The tenant gate's pure parts: the token bucket, the grant rules (capacity, FIFO within priority, rate limits,
 * backpressure for low-priority runs) and the wait reason `ados run why` prints.
 */
import type { BackpressureReading } from '../../shared/contract/tenancy/backpressure';
import {
  agentResource,
  describeGateWait,
  gateRequestSchema,
  parseGateMessage,
  RUNS_RESOURCE,
  slotGrantSchema,
  slotRecallSchema,
  type GateLimits,
  type GateState,
  type HolderRef,
} from '../../shared/contract/tenancy/gate';
import { fullBucket, msUntilFull, msUntilToken, refill, takeToken } from '../../shared/contract/tenancy/token-bucket';
import { applyGateRequest, blockingHolders, decideGrants, decideRecalls, freshGateState, gateView, pruneBuckets } from '../../workflows/tenancy/gate-rules';

describe('token bucket', () => {
  const limit = { perMinute: 60, burst: 3 };

  test('a full bucket gives its burst at once, then one token per 60/perMinute seconds', () => {
    let bucket = fullBucket(limit, 0);
    for (let i = 0; i < 3; i++) bucket = takeToken(bucket, limit, 0)!;
    expect(takeToken(bucket, limit, 0)).toBeUndefined();
    expect(msUntilToken(bucket, limit, 0)).toBe(1000);
    expect(takeToken(bucket, limit, 999)).toBeUndefined();
    bucket = takeToken(bucket, limit, 1000)!;
    expect(bucket.tokens).toBeCloseTo(0);
  });

  test('refills up to the burst, never beyond, and never backwards in time', () => {
    const empty = { tokens: 0, atMs: 10_000 };
    expect(refill(empty, limit, 70_000).tokens).toBe(3);
    expect(refill(empty, limit, 5_000)).toEqual(empty);
    expect(msUntilFull(empty, limit, 10_000)).toBe(3000);
    expect(msUntilFull(fullBucket(limit, 0), limit, 0)).toBe(0);
  });
});

const LIMITS: GateLimits = {
  maxConcurrentRuns: 2,
  maxConcurrentTasksPerAgent: 1,
  priority: 5,
  runStartsPerMinute: 600,
  runStartBurst: 100,
  agentTaskStartsPerMinute: 600,
  agentTaskStartBurst: 100,
};
const holder = (n: number): HolderRef => ({ workflowId: `delivery-acme-r${n}`, runId: `run-${n}` });

function stateWith(runs: Array<{ n: number; priority?: number }>, limits = LIMITS): GateState {
  const state = freshGateState('acme', 'ados');
  state.limits = limits;
  for (const { n, priority } of runs) {
    applyGateRequest(state, limits, { holder: holder(n), acquire: [{ requestId: 'runs', resource: RUNS_RESOURCE, capabilities: ['build'], ...(priority ? { priority } : {}) }] }, 0);
  }
  return state;
}

const granted = (state: GateState, nowMs = 0, limits = LIMITS) => decideGrants(state, limits, nowMs).grants.map((g) => g.holder.workflowId);

describe('grant rules', () => {
  test('at most the capacity is held; the rest waits in order of priority, then arrival', () => {
    const state = stateWith([{ n: 1 }, { n: 2, priority: 2 }, { n: 3, priority: 9 }, { n: 4 }, { n: 5, priority: 9 }]);
    expect(granted(state)).toEqual(['delivery-acme-r3', 'delivery-acme-r5']);
    expect(granted(state)).toEqual([]);
    const view = gateView(state, 0);
    expect(view.resources[0]).toMatchObject({ resource: 'runs', capacity: 2, blockedBy: 'capacity' });
    expect(view.resources[0].queue.map((q) => [q.holder.workflowId, q.position])).toEqual([
      ['delivery-acme-r1', 1],
      ['delivery-acme-r4', 2],
      ['delivery-acme-r2', 3],
    ]);
    expect(describeGateWait(view, 'delivery-acme-r2')).toEqual(['tenant acme at 2/2 concurrent runs, position 3 in queue']);
    expect(blockingHolders(state, LIMITS).map((h) => h.workflowId)).toEqual(['delivery-acme-r3', 'delivery-acme-r5']);

    applyGateRequest(state, LIMITS, { holder: holder(3), releaseAll: true }, 0);
    expect(granted(state)).toEqual(['delivery-acme-r1']);
    expect(state.totals).toEqual({ granted: 3, released: 1, closedHolders: 0, recalls: 0 });
  });

  test('a request sent twice is queued once; releasing a queued request withdraws it', () => {
    const state = stateWith([{ n: 1 }, { n: 2 }, { n: 3 }]);
    applyGateRequest(state, LIMITS, { holder: holder(3), acquire: [{ requestId: 'runs', resource: RUNS_RESOURCE }] }, 0);
    expect(state.waiting).toHaveLength(3);
    applyGateRequest(state, LIMITS, { holder: holder(1), release: ['runs'] }, 0);
    expect(granted(state)).toEqual(['delivery-acme-r2', 'delivery-acme-r3']);
  });

  test('each agent has its own capacity', () => {
    const state = freshGateState('acme', 'ados');
    const acquire = ['a', 'b', 'c'].map((id) => ({ requestId: `dev/${id}`, resource: agentResource(id === 'c' ? 'deployer' : 'builder') }));
    applyGateRequest(state, LIMITS, { holder: holder(1), acquire }, 0);
    expect(decideGrants(state, LIMITS, 0).grants.map((g) => g.requestId)).toEqual(['dev/a', 'dev/c']);
    state.limits = LIMITS;
    expect(describeGateWait(gateView(state, 0), 'delivery-acme-r1')).toEqual(['tenant acme at 1/1 concurrent tasks of agent builder, position 1 in queue']);
  });

  test('the run-start bucket holds back grants past its burst, and says when to look again', () => {
    const limits = { ...LIMITS, maxConcurrentRuns: 10, runStartsPerMinute: 6, runStartBurst: 2 };
    const state = stateWith([{ n: 1 }, { n: 2 }, { n: 3 }], limits);
    const decision = decideGrants(state, limits, 0);
    expect(decision.grants).toHaveLength(2);
    expect(decision.wakeInMs).toBe(10_000);
    expect(gateView(state, 0).resources[0].blockedBy).toBe('rate');
    expect(describeGateWait(gateView(state, 0), 'delivery-acme-r3')).toEqual(['tenant acme at 2/10 concurrent runs, position 1 in queue: rate limit 6 run starts/min']);
    expect(granted(state, 9_999, limits)).toEqual([]);
    expect(granted(state, 10_000, limits)).toEqual(['delivery-acme-r3']);
  });

  test('at backpressure critical, low-priority runs wait (and the gate re-reads on a timer); others go on', () => {
    const critical: BackpressureReading = { level: 'critical', backlog: 420, oldestSeconds: 95, queue: 'ados.cap.build', reason: 'backpressure critical: build backlog 420, oldest 95 s' };
    const limits = { ...LIMITS, maxConcurrentRuns: 10 };
    const state = stateWith([{ n: 1, priority: 3 }, { n: 2, priority: 4 }], limits);
    const first = decideGrants(state, limits, 0);
    expect(first.grants.map((g) => g.holder.workflowId)).toEqual(['delivery-acme-r2']);
    expect(first.readBackpressureFor).toEqual(['build']);

    state.backpressure = { reading: critical, readAtMs: 0 };
    const held = decideGrants(state, limits, 1000);
    expect(held.grants).toEqual([]);
    expect(held.wakeInMs).toBe(14_000);
    expect(describeGateWait(gateView(state, 1000), 'delivery-acme-r1')).toEqual([
      'tenant acme at 1/10 concurrent runs, position 1 in queue: low-priority runs wait out backpressure critical: build backlog 420, oldest 95 s',
    ]);
    // Stale after the recheck interval: read again before granting.
    expect(decideGrants(state, limits, 15_000).readBackpressureFor).toEqual(['build']);
    state.backpressure = { reading: { ...critical, level: 'warning' }, readAtMs: 15_000 };
    expect(granted(state, 15_000, limits)).toEqual(['delivery-acme-r1']);
  });

  test('unused buckets are forgotten once full again', () => {
    const limits = { ...LIMITS, agentTaskStartsPerMinute: 60, agentTaskStartBurst: 1 };
    const state = freshGateState('acme', 'ados');
    applyGateRequest(state, limits, { holder: holder(1), acquire: [{ requestId: 'dev/a', resource: agentResource('builder') }] }, 0);
    decideGrants(state, limits, 0);
    applyGateRequest(state, limits, { holder: holder(1), releaseAll: true }, 0);
    pruneBuckets(state, limits, 500);
    expect(Object.keys(state.buckets)).toEqual(['agent:builder']);
    pruneBuckets(state, limits, 1000);
    expect(state.buckets).toEqual({});
  });
});

describe('recall rules', () => {
  const limits = { ...LIMITS, maxConcurrentTasksPerAgent: 2 };
  const builder = agentResource('builder');
  const ask = (state: GateState, n: number, ids: string[], resource = builder) =>
    applyGateRequest(state, limits, { holder: holder(n), acquire: ids.map((requestId) => ({ requestId, resource })) }, 0);
  const recalled = (state: GateState) => decideRecalls(state, limits).map((r) => [r.holder.workflowId, r.resources]);

  test('a full agent resource recalls its holders once each, for those that somebody else waits behind', () => {
    const state = freshGateState('acme', 'ados');
    ask(state, 1, [`${builder}#1`]);
    ask(state, 2, [`${builder}#1`]);
    decideGrants(state, limits, 0);
    // Full, nobody waits: no recall.
    expect(recalled(state)).toEqual([]);
    ask(state, 3, [`${builder}#1`]);
    decideGrants(state, limits, 0);
    expect(recalled(state)).toEqual([
      ['delivery-acme-r1', [builder]],
      ['delivery-acme-r2', [builder]],
    ]);
    // Once per holder per resource: the next pass sends nothing more.
    expect(recalled(state)).toEqual([]);
    expect(state.totals.recalls).toBe(2);
  });

  test('a holder waiting behind its own units only is not recalled, and `runs` is never recalled', () => {
    const state = freshGateState('acme', 'ados');
    applyGateRequest(state, limits, { holder: holder(1), acquire: [{ requestId: 'runs', resource: RUNS_RESOURCE }] }, 0);
    applyGateRequest(state, limits, { holder: holder(2), acquire: [{ requestId: 'runs', resource: RUNS_RESOURCE }] }, 0);
    applyGateRequest(state, limits, { holder: holder(3), acquire: [{ requestId: 'runs', resource: RUNS_RESOURCE }] }, 0);
    ask(state, 1, [`${builder}#1`, `${builder}#2`, `${builder}#3`]);
    decideGrants(state, limits, 0);
    expect(state.waiting.map((w) => w.resource).sort()).toEqual([builder, RUNS_RESOURCE]);
    expect(recalled(state)).toEqual([]);
  });

  test('asking again ends the recall (recalled again while others still wait); leaving forgets it', () => {
    const state = freshGateState('acme', 'ados');
    ask(state, 1, [`${builder}#1`, `${builder}#2`]);
    decideGrants(state, limits, 0);
    ask(state, 2, [`${builder}#1`]);
    decideGrants(state, limits, 0);
    expect(recalled(state)).toEqual([['delivery-acme-r1', [builder]]]);
    // r1 gives one unit back and asks for another: r2 gets the freed one, r1's new request waits.
    applyGateRequest(state, limits, { holder: holder(1), release: [`${builder}#1`], acquire: [{ requestId: `${builder}#3`, resource: builder }] }, 0);
    expect(state.recalled).toEqual([]);
    expect(decideGrants(state, limits, 0).grants.map((g) => g.holder.workflowId)).toEqual(['delivery-acme-r2']);
    // r2 is recalled (r1 waits behind it); r1 is not (nobody else waits behind its unit).
    expect(recalled(state)).toEqual([['delivery-acme-r2', [builder]]]);
    applyGateRequest(state, limits, { holder: holder(2), releaseAll: true }, 0);
    expect(state.recalled).toEqual([]);
  });

  test('the recall marks are plain JSON (carried over continue-as-new)', () => {
    const state = freshGateState('acme', 'ados');
    ask(state, 1, [`${builder}#1`, `${builder}#2`]);
    ask(state, 2, [`${builder}#1`]);
    decideGrants(state, limits, 0);
    decideRecalls(state, limits);
    const carried = JSON.parse(JSON.stringify(state)) as GateState;
    expect(carried.recalled).toEqual([{ holder: holder(1), resource: builder }]);
    expect(decideRecalls(carried, limits)).toEqual([]);
  });
});

describe('units asked for with a run slot', () => {
  const limits = { ...LIMITS, maxConcurrentRuns: 1, maxConcurrentTasksPerAgent: 2 };
  const builder = agentResource('builder');
  const withRunSlot = (state: GateState, n: number, units: number) =>
    applyGateRequest(
      state,
      limits,
      {
        holder: holder(n),
        acquire: [
          { requestId: 'runs', resource: RUNS_RESOURCE },
          ...Array.from({ length: units }, (_, i) => ({ requestId: `${builder}#${i + 1}`, resource: builder })),
        ],
      },
      0,
    );

  test('wait with the run slot (not in the agent queue, recalling nobody) and are granted in the same pass as it', () => {
    const state = freshGateState('acme', 'ados');
    state.limits = limits;
    withRunSlot(state, 1, 2);
    expect(decideGrants(state, limits, 0).grants.map((g) => g.requestId)).toEqual(['runs', `${builder}#1`, `${builder}#2`]);
    withRunSlot(state, 2, 1);
    // r2 waits for the run slot: its unit is nobody's rival yet, though builder is full.
    expect(decideGrants(state, limits, 0).grants).toEqual([]);
    expect(decideRecalls(state, limits)).toEqual([]);
    expect(blockingHolders(state, limits).map((h) => h.workflowId)).toEqual(['delivery-acme-r1']);
    expect(gateView(state, 0).resources.find((r) => r.resource === builder)?.queue).toEqual([]);
    expect(describeGateWait(gateView(state, 0), 'delivery-acme-r2')).toEqual(['tenant acme at 1/1 concurrent runs, position 1 in queue']);
    // r1 ends: r2 gets its run slot and its unit in one pass.
    applyGateRequest(state, limits, { holder: holder(1), releaseAll: true }, 0);
    expect(decideGrants(state, limits, 0).grants.map((g) => [g.holder.workflowId, g.requestId])).toEqual([
      ['delivery-acme-r2', 'runs'],
      ['delivery-acme-r2', `${builder}#1`],
    ]);
  });
});

describe('gate messages are parsed strictly', () => {
  test('a well-formed request, grant and recall pass', () => {
    expect(parseGateMessage(gateRequestSchema, { holder: holder(1), acquire: [{ requestId: 'agent:b#1', resource: 'agent:b', priority: 7 }], release: ['agent:b#0'] }).ok).toBe(true);
    expect(parseGateMessage(slotGrantSchema, { requestIds: ['runs'] }).ok).toBe(true);
    expect(parseGateMessage(slotRecallSchema, { resources: ['agent:b'] }).ok).toBe(true);
  });

  test('a malformed one is refused, naming the field', () => {
    expect(parseGateMessage(gateRequestSchema, { holder: holder(1), acquire: [{ requestId: 'x', resource: 'gpu' }] })).toEqual({
      ok: false,
      issue: 'acquire.0.resource: must be "runs" or "agent:<name>"',
    });
    expect(parseGateMessage(gateRequestSchema, { holder: { workflowId: 'w' } })).toMatchObject({ ok: false, issue: expect.stringMatching(/^holder\.runId: /) });
    expect(parseGateMessage(slotRecallSchema, { resources: ['runs'], extra: 1 })).toMatchObject({ ok: false, issue: expect.stringContaining('extra') });
    expect(parseGateMessage(slotRecallSchema, { resources: [] })).toMatchObject({ ok: false, issue: expect.stringMatching(/^resources: /) });
    expect(parseGateMessage(slotGrantSchema, undefined)).toMatchObject({ ok: false, issue: expect.stringMatching(/^\(root\): /) });
  });
});
