/**
 * Capability routing, without servers: the registry (queues, alternates, schedule-to-start), how a capability worker
 * is planned (one Worker per queue, concurrency, rate limit), how Temporal's DescribeTaskQueue answer becomes a report
 * and the sentence a run reports, `ados workers` formatting, and the DAG's dynamic parallelism and stop.
 */
import { temporal } from '@temporalio/proto';
import { formatWorkers, listCapabilityWorkers, WORKERS_NOTES, type WorkersReport } from '../../client/workers';
import {
  CAPABILITIES,
  capabilitySpec,
  DEFAULT_SCHEDULE_TO_START_TIMEOUT_SECONDS,
  KNOWN_CAPABILITIES,
  registryIssues,
  scheduleToStartTimeoutSeconds,
} from '../../shared/contract/capabilities';
import { lookupAlternates } from '../../shared/contract/capability-spec';
import { describeQueueProblem, isUnserved, noWorkerMessage, type CapabilityQueueReport } from '../../shared/contract/routing';
import { capabilityTaskQueue } from '../../shared/contract/task-queues';
import { describeQueue, reportFromResponse, type TaskQueueDescriber } from '../../shared/node/task-queue-report';
import { planCapabilityWorkers } from '../../workers/capability-worker';
import { runDag } from '../../workflows/dag';
import { EventSink } from '../../workflows/common/audit-trail';

const NOW = Date.parse('2026-11-22T06:00:00.000Z');
const secondsAgo = (s: number) => ({ seconds: Math.floor((NOW - s * 1000) / 1000) as never, nanos: 0 });

describe('capability registry', () => {
  it('is consistent: every alternate is a registered capability other than itself', () => {
    expect(registryIssues()).toEqual([]);
    expect(lookupAlternates('demo.text')).toEqual(['demo.text.fallback']);
    expect(lookupAlternates('build')).toEqual([]);
    expect(lookupAlternates('teleport')).toEqual([]);
  });

  it('finds a self-reference, an unknown or repeated alternate and a bad schedule-to-start timeout', () => {
    const base = { description: 'x', startToCloseTimeoutSeconds: 1, heartbeatTimeoutSeconds: 1, retry: CAPABILITIES.build.retry };
    expect(
      registryIssues({
        a: { ...base, alternates: ['a', 'b', 'nope', 'b'] },
        b: { ...base, scheduleToStartTimeoutSeconds: 0 },
      }),
    ).toEqual([
      'a.alternates[0]: a capability cannot be its own alternate',
      'a.alternates[2]: unknown capability "nope"',
      'a.alternates[3]: "b" is listed twice',
      'b.scheduleToStartTimeoutSeconds: must be a positive whole number of seconds (got 0)',
    ]);
  });

  it('gives every capability its queue, timeouts, heartbeat, retry policy and a schedule-to-start timeout', () => {
    for (const name of KNOWN_CAPABILITIES) {
      const spec = capabilitySpec(name)!;
      expect({ name, description: spec.description.length > 0 }).toEqual({ name, description: true });
      expect(spec.startToCloseTimeoutSeconds).toBeGreaterThan(0);
      expect(spec.heartbeatTimeoutSeconds).toBeGreaterThan(0);
      expect(spec.retry.maximumAttempts).toBeGreaterThanOrEqual(1);
      expect(scheduleToStartTimeoutSeconds(spec)).toBeGreaterThan(0);
    }
    expect(scheduleToStartTimeoutSeconds(CAPABILITIES.build)).toBe(DEFAULT_SCHEDULE_TO_START_TIMEOUT_SECONDS);
    expect(scheduleToStartTimeoutSeconds(CAPABILITIES['demo.text'])).toBe(120);
    expect(capabilityTaskQueue('demo.text.fallback')).toBe('ados.cap.demo.text.fallback');
    expect(capabilityTaskQueue('demo.text.fallback', 'acme')).toBe('acme.cap.demo.text.fallback');
  });
});

describe('planCapabilityWorkers', () => {
  it('plans one Worker per capability queue with the concurrency limit and the optional queue rate limit', () => {
    expect(planCapabilityWorkers({ capabilities: ['build', 'deploy'], taskQueuePrefix: 'ados', maxConcurrent: 8 })).toEqual([
      { capability: 'build', taskQueue: 'ados.cap.build', maxConcurrentActivityTaskExecutions: 8 },
      { capability: 'deploy', taskQueue: 'ados.cap.deploy', maxConcurrentActivityTaskExecutions: 8 },
    ]);
    expect(planCapabilityWorkers({ capabilities: ['demo.text.fallback'], taskQueuePrefix: 'p', maxTaskQueueActivitiesPerSecond: 2.5 })).toEqual([
      { capability: 'demo.text.fallback', taskQueue: 'p.cap.demo.text.fallback', maxConcurrentActivityTaskExecutions: 8, maxTaskQueueActivitiesPerSecond: 2.5 },
    ]);
  });

  it('refuses unknown or repeated capabilities and limits that are not positive', () => {
    const plan = (o: Partial<Parameters<typeof planCapabilityWorkers>[0]>) => () =>
      planCapabilityWorkers({ capabilities: ['build'], taskQueuePrefix: 'ados', ...o });
    expect(plan({ capabilities: ['build', 'teleport'] })).toThrow(/^unknown capability teleport; known: build, deploy/);
    expect(plan({ capabilities: ['build', 'build'] })).toThrow('capability build is listed more than once');
    expect(plan({ capabilities: [] })).toThrow('a capability worker needs at least one capability');
    expect(plan({ maxConcurrent: 0 })).toThrow('--max-concurrent must be a whole number of at least 1 (got 0)');
    expect(plan({ maxConcurrent: Number('x') })).toThrow('--max-concurrent must be a whole number of at least 1 (got NaN)');
    expect(plan({ maxTaskQueueActivitiesPerSecond: -1 })).toThrow('--rate-limit must be a number of activities per second above 0 (got -1)');
  });
});

describe('reportFromResponse (DescribeTaskQueue → report)', () => {
  it('lists pollers with their age and rate, marks stale ones, reads the backlog stats and the rate limit', () => {
    const report = reportFromResponse(
      'build',
      'ados.cap.build',
      {
        pollers: [
          { identity: 'cap[build]-2@h', lastAccessTime: secondsAgo(3), ratePerSecond: 50 },
          { identity: 'cap[build]-1@h', lastAccessTime: secondsAgo(200) },
        ],
        stats: { approximateBacklogCount: 7 as never, approximateBacklogAge: { seconds: 12 as never, nanos: 500_000_000 }, tasksAddRate: 1.234, tasksDispatchRate: 0.5 },
        effectiveRateLimit: { requestsPerSecond: 50, rateLimitSource: temporal.api.enums.v1.RateLimitSource.RATE_LIMIT_SOURCE_WORKER },
      },
      NOW,
    );
    expect(report).toEqual({
      capability: 'build',
      taskQueue: 'ados.cap.build',
      checked: true,
      pollers: [
        { identity: 'cap[build]-1@h', lastAccessTime: '2026-11-22T05:56:40.000Z', lastAccessAgeSeconds: 200, live: false },
        { identity: 'cap[build]-2@h', lastAccessTime: '2026-11-22T05:59:57.000Z', lastAccessAgeSeconds: 3, ratePerSecond: 50, live: true },
      ],
      livePollers: 1,
      backlog: { approximateCount: 7, approximateAgeSeconds: 12.5, tasksAddRate: 1.23, tasksDispatchRate: 0.5 },
      rateLimit: { perSecond: 50, source: 'worker' },
      describedAt: '2026-11-22T06:00:00.000Z',
    });
    expect(isUnserved(report)).toBe(false);
  });

  it('an empty queue: no pollers, unserved', () => {
    const report = reportFromResponse('deploy', 'q.cap.deploy', {}, NOW);
    expect(report).toMatchObject({ checked: true, pollers: [], livePollers: 0 });
    expect(report.backlog).toBeUndefined();
    expect(isUnserved(report)).toBe(true);
  });

  it('a server without DescribeTaskQueue, or a failed call, gives an unchecked report (never "unserved")', async () => {
    const unimplemented: TaskQueueDescriber = { describeTaskQueue: async () => Promise.reject(Object.assign(new Error('12 UNIMPLEMENTED'), { code: 12 })) };
    const report = await describeQueue(unimplemented, 'build', 'q.cap.build', { namespace: 'default', now: () => NOW });
    expect(report).toMatchObject({ checked: false, error: 'DescribeTaskQueue is not implemented by this Temporal server', livePollers: 0 });
    expect(isUnserved(report)).toBe(false);
    const broken: TaskQueueDescriber = { describeTaskQueue: async () => Promise.reject(Object.assign(new Error('14 UNAVAILABLE'), { code: 14 })) };
    expect(await describeQueue(broken, 'build', 'q.cap.build', { namespace: 'default' })).toMatchObject({ checked: false, error: 'DescribeTaskQueue failed: 14 UNAVAILABLE' });
  });

  it('asks for the activity queue type with stats', async () => {
    const requests: unknown[] = [];
    const recorder: TaskQueueDescriber = {
      describeTaskQueue: async (request) => {
        requests.push(request);
        return {};
      },
    };
    await describeQueue(recorder, 'build', 'q.cap.build', { namespace: 'ns' });
    expect(requests).toEqual([
      {
        namespace: 'ns',
        taskQueue: { name: 'q.cap.build', kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        reportStats: true,
      },
    ]);
  });
});

describe('what a run reports about a queue', () => {
  const empty: CapabilityQueueReport = { capability: 'deploy', taskQueue: 'ados.cap.deploy', checked: true, pollers: [], livePollers: 0, describedAt: '' };

  it('no poller at all', () => {
    expect(noWorkerMessage('deploy', 'ados.cap.deploy')).toBe('no worker polls capability deploy (task queue ados.cap.deploy)');
    expect(describeQueueProblem(empty)).toBe('no worker polls capability deploy (task queue ados.cap.deploy)');
    expect(describeQueueProblem(empty, 30)).toBe('no worker polls capability deploy (task queue ados.cap.deploy) (the task was not started within 30s)');
  });

  it('only a poller gone quiet', () => {
    const stale = { ...empty, pollers: [{ identity: 'w1', lastAccessAgeSeconds: 185, live: false }] };
    expect(describeQueueProblem(stale)).toBe('no worker polls capability deploy (task queue ados.cap.deploy); last poller w1 seen 3m05s ago');
  });

  it('pollers there, the task still not started: a backlog', () => {
    const busy = { ...empty, pollers: [{ identity: 'w1', live: true }], livePollers: 1, backlog: { approximateCount: 40, approximateAgeSeconds: 90, tasksAddRate: 1, tasksDispatchRate: 0.1 } };
    expect(describeQueueProblem(busy, 60)).toBe('capability deploy (task queue ados.cap.deploy) has 1 live poller(s), backlog ~40 (the task was not started within 60s)');
  });

  it('a server that cannot tell', () => {
    expect(describeQueueProblem({ ...empty, checked: false, error: 'DescribeTaskQueue is not implemented by this Temporal server' }, 30)).toBe(
      'capability deploy (task queue ados.cap.deploy): the task was not started within 30s; Temporal could not say who polls it (DescribeTaskQueue is not implemented by this Temporal server)',
    );
  });
});

describe('ados workers', () => {
  /** A stand-in for Temporal's DescribeTaskQueue answering per queue (unit level; the integration test uses the real server). */
  const describer = (byQueue: Record<string, temporal.api.workflowservice.v1.IDescribeTaskQueueResponse>): TaskQueueDescriber => ({
    describeTaskQueue: async (request) => byQueue[request.taskQueue!.name!] ?? {},
  });

  it('describes the control queue (workflow pollers) and each capability queue (activity pollers)', async () => {
    const seen: Array<[string, number]> = [];
    const service: TaskQueueDescriber = {
      describeTaskQueue: async (request) => {
        seen.push([request.taskQueue!.name!, request.taskQueueType as number]);
        return {};
      },
    };
    const report = await listCapabilityWorkers(service, { temporalNamespace: 'default', taskQueuePrefix: 'ados' }, ['build', 'demo.text']);
    expect(seen.sort()).toEqual([
      ['ados.cap.build', temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
      ['ados.cap.demo.text', temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
      ['ados.control', temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW],
    ]);
    expect(report.capabilities.map((c) => [c.capability, c.alternates])).toEqual([
      ['build', []],
      ['demo.text', ['demo.text.fallback']],
    ]);
    await expect(listCapabilityWorkers(service, { temporalNamespace: 'default', taskQueuePrefix: 'ados' }, ['teleport'])).rejects.toThrow(
      /--capabilities: unknown capability teleport; known: build/,
    );
  });

  it('prints a table, then the pollers per queue, then what nobody serves', async () => {
    const real = await listCapabilityWorkers(
      describer({
        'ados.control': { pollers: [{ identity: 'control-1@h', lastAccessTime: secondsAgo(1) }] },
        'ados.cap.build': {
          pollers: [{ identity: 'cap[build,deploy]-7@h', lastAccessTime: secondsAgo(2), ratePerSecond: 50 }],
          stats: { approximateBacklogCount: 3 as never, approximateBacklogAge: { seconds: 65 as never } },
          effectiveRateLimit: { requestsPerSecond: 50, rateLimitSource: temporal.api.enums.v1.RateLimitSource.RATE_LIMIT_SOURCE_WORKER },
        },
        'ados.cap.deploy': {
          pollers: [{ identity: 'cap[build,deploy]-7@h', lastAccessTime: secondsAgo(2) }],
          stats: {},
          effectiveRateLimit: { requestsPerSecond: 4000, rateLimitSource: temporal.api.enums.v1.RateLimitSource.RATE_LIMIT_SOURCE_SYSTEM },
        },
        'ados.cap.demo.text': { pollers: [{ identity: 'old@h', lastAccessTime: secondsAgo(250) }], stats: {} },
      }),
      { temporalNamespace: 'default', taskQueuePrefix: 'ados' },
      ['build', 'deploy', 'demo.text'],
    );
    // Ages are measured against the real clock; pin them for the text.
    const report: WorkersReport = JSON.parse(JSON.stringify(real));
    const ages: Record<string, number> = { 'control-1@h': 1, 'cap[build,deploy]-7@h': 2, 'old@h': 250 };
    for (const queue of [report.control, ...report.capabilities]) {
      for (const poller of queue.pollers) {
        poller.lastAccessAgeSeconds = ages[poller.identity];
        poller.live = poller.lastAccessAgeSeconds < 120;
      }
      queue.livePollers = queue.pollers.filter((p) => p.live).length;
    }
    expect(formatWorkers(report)).toBe(
      [
        'namespace default, task queue prefix ados',
        'CAPABILITY           TASK QUEUE          WORKERS  BACKLOG  OLDEST  RATE LIMIT',
        'control (workflows)  ados.control        1        n/a      -       -',
        'build                ados.cap.build      1        3        1m05s   50/s (worker)',
        'deploy               ados.cap.deploy     1        0        -       -',
        'demo.text            ados.cap.demo.text  NONE     0        -       -',
        '',
        'control (workflows):',
        '  control-1@h  last poll 1s ago',
        'build:',
        '  cap[build,deploy]-7@h  last poll 2s ago  rate limit 50/s',
        'deploy:',
        '  cap[build,deploy]-7@h  last poll 2s ago',
        'demo.text:',
        '  old@h  last poll 4m10s ago (stale)',
        '',
        'no worker polls: demo.text (runs naming them wait, then escalate)',
        '',
        ...WORKERS_NOTES.map((n) => `note: ${n}`),
      ].join('\n'),
    );
  });

  it('says when the server could not be asked', () => {
    const report: WorkersReport = {
      namespace: 'default',
      taskQueuePrefix: 'ados',
      control: { capability: 'control', taskQueue: 'ados.control', checked: false, error: 'not implemented', pollers: [], livePollers: 0, describedAt: '' },
      capabilities: [],
      notes: [],
    };
    expect(formatWorkers(report)).toContain('control (workflows)  ados.control  unknown  n/a      -       -');
    expect(formatWorkers(report)).toContain('control (workflows): not checked (not implemented)');
  });
});

describe('runDag: dynamic parallelism and stop', () => {
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  it('reads maxParallel each time nodes could start: lowering it holds back new nodes', async () => {
    let limit = 4;
    let running = 0;
    const peaks: number[] = [];
    const nodes = Array.from({ length: 12 }, (_, i) => ({ id: `n${i}`, dependsOn: [] as string[] }));
    await runDag(nodes, () => limit, async (node) => {
      running += 1;
      peaks.push(running);
      if (node.id === 'n0') limit = 1; // e.g. the ladder's mutate rung
      await sleep(5);
      running -= 1;
      return node.id;
    });
    // The first four started together; after n0 lowered the limit, nodes ran one at a time.
    expect(peaks.slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(Math.max(...peaks.slice(4))).toBe(1);
  });

  it('a stop reason lets running nodes finish, starts nothing more and skips the rest with the reason', async () => {
    let stop: string | undefined;
    const started: string[] = [];
    const skipped: Array<[string, string]> = [];
    const nodes = [
      { id: 'a', dependsOn: [] },
      { id: 'b', dependsOn: [] },
      { id: 'c', dependsOn: ['a'] },
      { id: 'd', dependsOn: [] },
    ];
    const outcomes = await runDag(
      nodes,
      2,
      async (node) => {
        started.push(node.id);
        if (node.id === 'a') stop = 'aborted by bob';
        await sleep(node.id === 'b' ? 20 : 1);
        return node.id;
      },
      { stopReason: () => stop, onSkip: (id, reason) => skipped.push([id, reason]) },
    );
    expect(started).toEqual(['a', 'b']);
    expect(outcomes).toEqual({
      a: { status: 'succeeded', result: 'a' },
      b: { status: 'succeeded', result: 'b' },
      c: { status: 'skipped', reason: 'aborted by bob' },
      d: { status: 'skipped', reason: 'aborted by bob' },
    });
    expect(skipped).toEqual([
      ['c', 'aborted by bob'],
      ['d', 'aborted by bob'],
    ]);
  });
});

describe('EventSink (batched task auditing)', () => {
  it('batches what is pushed together, keeps one write in flight, keeps the order, and flushes everything', async () => {
    const writes: number[][] = [];
    let release: (() => void) | undefined;
    const sink = new EventSink<number>(async (batch) => {
      writes.push(batch);
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    }, 3);
    sink.push(1);
    sink.push(2);
    await Promise.resolve();
    await Promise.resolve();
    expect(writes).toEqual([[1, 2]]);
    // While the first batch is in flight, pushes wait; then they go out in batches of at most 3.
    for (const n of [3, 4, 5, 6, 7]) sink.push(n);
    expect(writes).toHaveLength(1);
    const flushed = sink.flush();
    for (let i = 0; i < 10 && release; i++) {
      const r = release;
      release = undefined;
      r();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await flushed;
    expect(writes).toEqual([[1, 2], [3, 4, 5], [6, 7]]);
  });

  it('rethrows a failed write at flush', async () => {
    const sink = new EventSink<number>(async () => {
      throw new Error('cancelled');
    });
    sink.push(1);
    await expect(sink.flush()).rejects.toThrow('cancelled');
  });
});
