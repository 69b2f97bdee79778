import { blockedNodes, errorMessage, readyNodes, runDag, type DagNode, type NodeOutcome } from '../../workflows/dag';

interface TestNode extends DagNode {
  /** How long the fake work takes. */
  ms: number;
  fail?: boolean;
}

const n = (id: string, dependsOn: string[] = [], ms = 10, fail = false): TestNode => ({ id, dependsOn, ms, fail });

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Event = { kind: 'start' | 'end'; id: string };

/** Runs the DAG with fake async work and records when each node starts and ends. */
async function runRecorded(nodes: TestNode[], maxParallel: number) {
  const events: Event[] = [];
  const upstreamSeen: Record<string, Record<string, string>> = {};
  const skips: [string, string][] = [];
  const outcomes = await runDag<TestNode, string>(
    nodes,
    maxParallel,
    async (node, upstream) => {
      events.push({ kind: 'start', id: node.id });
      upstreamSeen[node.id] = { ...upstream };
      await sleep(node.ms);
      events.push({ kind: 'end', id: node.id });
      if (node.fail) throw new Error(`${node.id} broke`);
      return `result of ${node.id}`;
    },
    { onSkip: (id, reason) => skips.push([id, reason]) },
  );
  return { outcomes, events, upstreamSeen, skips };
}

function maxConcurrency(events: Event[]): number {
  let running = 0;
  let max = 0;
  for (const event of events) {
    running += event.kind === 'start' ? 1 : -1;
    max = Math.max(max, running);
  }
  return max;
}

const at = (events: Event[], kind: Event['kind'], id: string) => {
  const index = events.findIndex((e) => e.kind === kind && e.id === id);
  if (index < 0) throw new Error(`no ${kind} event for ${id}`);
  return index;
};

describe('runDag', () => {
  it('starts no node before all its dependencies finished', async () => {
    // a and b run in parallel (b slower); c needs both; d needs c; e is independent.
    const nodes = [n('a', [], 5), n('b', [], 30), n('c', ['a', 'b'], 5), n('d', ['c'], 5), n('e', [], 5)];
    const { outcomes, events } = await runRecorded(nodes, 4);
    for (const node of nodes) {
      expect(outcomes[node.id]).toEqual({ status: 'succeeded', result: `result of ${node.id}` });
      for (const dependency of node.dependsOn) expect(at(events, 'end', dependency)).toBeLessThan(at(events, 'start', node.id));
    }
    // c waited for the slow b even though a finished long before.
    expect(at(events, 'end', 'a')).toBeLessThan(at(events, 'end', 'b'));
    expect(at(events, 'start', 'c')).toBeGreaterThan(at(events, 'end', 'b'));
    // The independent e did not wait for anything.
    expect(at(events, 'start', 'e')).toBeLessThan(at(events, 'end', 'a'));
  });

  it('never runs more than maxParallel nodes at once, and does reach it', async () => {
    const nodes = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id, i) => n(id, [], 5 + (i % 3) * 7));
    const { outcomes, events } = await runRecorded(nodes, 3);
    expect(Object.values(outcomes).every((o) => o.status === 'succeeded')).toBe(true);
    expect(events.filter((e) => e.kind === 'start')).toHaveLength(7);
    expect(maxConcurrency(events)).toBe(3);
  });

  it('with maxParallel 1 runs the nodes one at a time, in plan order', async () => {
    const nodes = [n('x', [], 5), n('y', [], 1), n('z', [], 3)];
    const { events } = await runRecorded(nodes, 1);
    expect(maxConcurrency(events)).toBe(1);
    expect(events.map((e) => `${e.kind}:${e.id}`)).toEqual(['start:x', 'end:x', 'start:y', 'end:y', 'start:z', 'end:z']);
  });

  it('starts a node as soon as a slot frees up, not after the whole batch', async () => {
    // With 2 slots: a (long) and b (short) start; c must start when b ends, while a still runs.
    const { events } = await runRecorded([n('a', [], 60), n('b', [], 5), n('c', [], 5)], 2);
    expect(at(events, 'start', 'c')).toBeGreaterThan(at(events, 'end', 'b'));
    expect(at(events, 'start', 'c')).toBeLessThan(at(events, 'end', 'a'));
  });

  it('skips the transitive dependents of a failed node, naming the dependency, while independent branches complete', async () => {
    const nodes = [
      n('build'),
      n('deploy', ['build'], 5, true),
      n('verify', ['deploy']),
      n('report', ['verify']),
      n('analysis', [], 30),
      n('summary', ['analysis']),
    ];
    const { outcomes, events, skips } = await runRecorded(nodes, 4);
    expect(outcomes.build).toEqual({ status: 'succeeded', result: 'result of build' });
    expect(outcomes.deploy).toEqual({ status: 'failed', error: 'deploy broke' });
    expect(outcomes.verify).toEqual({ status: 'skipped', reason: 'dependency "deploy" failed' });
    expect(outcomes.report).toEqual({ status: 'skipped', reason: 'dependency "verify" skipped' });
    expect(outcomes.analysis.status).toBe('succeeded');
    expect(outcomes.summary).toEqual({ status: 'succeeded', result: 'result of summary' });
    expect(events.some((e) => e.id === 'verify' || e.id === 'report')).toBe(false);
    expect(skips).toEqual([
      ['verify', 'dependency "deploy" failed'],
      ['report', 'dependency "verify" skipped'],
    ]);
  });

  it('skips a node with several dependencies when any one of them failed, even if the others succeed', async () => {
    const { outcomes } = await runRecorded([n('ok', [], 20), n('bad', [], 1, true), n('join', ['ok', 'bad'])], 4);
    expect(outcomes.ok.status).toBe('succeeded');
    expect(outcomes.join).toEqual({ status: 'skipped', reason: 'dependency "bad" failed' });
  });

  it('passes the results of exactly its dependencies to each node', async () => {
    const nodes = [n('a'), n('b', ['a']), n('c', ['a']), n('d', ['b', 'c']), n('lone')];
    const { upstreamSeen } = await runRecorded(nodes, 2);
    expect(upstreamSeen).toEqual({
      a: {},
      b: { a: 'result of a' },
      c: { a: 'result of a' },
      d: { b: 'result of b', c: 'result of c' },
      lone: {},
    });
  });

  it('records the cause of a wrapped error and the text of a non-Error rejection', async () => {
    const outcomes = await runDag([n('wrapped'), n('thrown')], 2, async (node) => {
      if (node.id === 'wrapped') throw new Error('activity task failed', { cause: new Error('disk full') });
      throw 'plain text';
    });
    expect(outcomes.wrapped).toEqual({ status: 'failed', error: 'activity task failed: disk full' });
    expect(outcomes.thrown).toEqual({ status: 'failed', error: 'plain text' });
  });

  it('returns at once for an empty plan', async () => {
    await expect(runDag([], 4, async () => 'never')).resolves.toEqual({});
  });
});

describe('runDag: completions and promises', () => {
  /** A DAG whose nodes finish only when the test says, in the batches given (one batch = one workflow activation). */
  async function startOrder(batches: string[][]): Promise<string[]> {
    const nodes = [n('a'), n('b'), n('c'), n('d', ['a', 'b']), n('e', ['b']), n('f', ['c', 'd']), n('g', ['e']), n('h', ['f', 'g'])];
    const finish = new Map<string, () => void>();
    const started: string[] = [];
    const run = runDag(nodes, 3, (node) => new Promise<string>((resolve) => {
      started.push(node.id);
      finish.set(node.id, () => resolve(node.id));
    }));
    const settle = async () => {
      for (let i = 0; i < 20; i++) await Promise.resolve();
    };
    await settle();
    for (const batch of batches) {
      for (const id of batch) finish.get(id)!();
      await settle();
    }
    await run;
    return started;
  }

  it('starts nodes in plan order, whether completions arrive one by one or several at once', async () => {
    expect(await startOrder([['b', 'a'], ['c'], ['e'], ['d', 'g'], ['f'], ['h']])).toEqual(['a', 'b', 'c', 'd', 'e', 'g', 'f', 'h']);
    expect(await startOrder([['a'], ['b'], ['c'], ['e'], ['d'], ['g'], ['f'], ['h']])).toEqual(['a', 'b', 'c', 'd', 'e', 'g', 'f', 'h']);
  });

  it('creates a bounded number of promises per node, however many run at once (in a workflow, the SDK traces each one)', async () => {
    const { createHook } = await import('node:async_hooks');
    const count = async (width: number) => {
      const nodes = Array.from({ length: 3 * width }, (_, i) => n(`x${i}`, i < width ? [] : [`x${i - width}`], 1 + (i % 4)));
      let promises = 0;
      const hook = createHook({ init: (_id, type) => { if (type === 'PROMISE') promises += 1; } }).enable();
      try {
        await runDag(nodes, width, async (node) => {
          await sleep(node.ms);
          return node.id;
        });
      } finally {
        hook.disable();
      }
      return promises / nodes.length;
    };
    // A race over the running nodes on every step would grow with the width (N+1 promises per step).
    const narrow = await count(2);
    const wide = await count(20);
    expect(wide).toBeLessThan(narrow * 1.5);
    expect(wide).toBeLessThan(12);
  });
});

describe('readyNodes', () => {
  const nodes = [n('a'), n('b'), n('c', ['a']), n('d'), n('e', ['a', 'b'])];
  const ok = (result = 'x'): NodeOutcome<unknown> => ({ status: 'succeeded', result });

  it('returns the nodes without pending dependencies, in plan order, up to the limit', () => {
    expect(readyNodes(nodes, {}, new Set(), 10).map((x) => x.id)).toEqual(['a', 'b', 'd']);
    expect(readyNodes(nodes, {}, new Set(), 2).map((x) => x.id)).toEqual(['a', 'b']);
  });

  it('counts the running nodes against the limit and does not return them again', () => {
    expect(readyNodes(nodes, {}, new Set(['a']), 2).map((x) => x.id)).toEqual(['b']);
    expect(readyNodes(nodes, {}, new Set(['a', 'b']), 2)).toEqual([]);
    expect(readyNodes(nodes, {}, new Set(['a', 'b', 'd']), 2)).toEqual([]);
  });

  it('releases a dependent only when all its dependencies succeeded', () => {
    expect(readyNodes(nodes, { a: ok() }, new Set(['b']), 10).map((x) => x.id)).toEqual(['c', 'd']);
    expect(readyNodes(nodes, { a: ok(), b: ok() }, new Set(), 10).map((x) => x.id)).toEqual(['c', 'd', 'e']);
  });

  it('never returns a node that has an outcome, or whose dependency failed', () => {
    const outcomes: Record<string, NodeOutcome<unknown>> = { a: { status: 'failed', error: 'x' }, b: ok(), d: ok() };
    expect(readyNodes(nodes, outcomes, new Set(), 10)).toEqual([]);
  });
});

describe('blockedNodes and errorMessage', () => {
  it('names the first broken dependency and its status', () => {
    const nodes = [n('a'), n('b'), n('c', ['a', 'b']), n('d', ['c'])];
    const blocked = blockedNodes(nodes, { a: { status: 'succeeded', result: 1 }, b: { status: 'skipped', reason: 'x' } });
    expect(blocked.map(({ node, reason }) => [node.id, reason])).toEqual([['c', 'dependency "b" skipped']]);
  });

  it('errorMessage handles Errors with and without cause, and other values', () => {
    expect(errorMessage(new Error('plain'))).toBe('plain');
    expect(errorMessage(new Error('outer', { cause: new Error('inner') }))).toBe('outer: inner');
    expect(errorMessage(new Error('outer', { cause: 'not an error' }))).toBe('outer');
    expect(errorMessage(42)).toBe('42');
  });
});
