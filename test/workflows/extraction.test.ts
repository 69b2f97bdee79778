/**
 * schemaExtraction on the time-skipping test server with the real workers (control + the `extract` capability queue)
 * and activities against PGlite: dependency order and the maxParallel limit from the recorded start/end times, the
 * cache (hit, miss, downstream invalidation, extractor and glue versions), failure isolation, the approval gate for a
 * breaking migration, and input refused by the workflow itself.
 */
import { hostname } from 'node:os';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createExtractionControlActivities } from '../../activities/extraction/control-activities';
import { createExtractionWorkerActivities } from '../../activities/extraction/extract';
import { EXTRACTOR_VERSION, GLUE_VERSION, type GeneratorVersions } from '../../shared/node/extraction/generators/version';
import { decide } from '../../client/common/approval';
import { getExtractionProgress, getExtractionResult, startExtraction } from '../../client/extraction';
import type { ExtractAgentRequest, ExtractionInput, ExtractionProgress, ExtractionResult } from '../../shared/contract/extraction/messages';
import { capabilityTaskQueue, controlTaskQueue } from '../../shared/contract/task-queues';
import { InputValidationError } from '../../shared/contract/validation';
import { createLogger } from '../../shared/node/logger';
import {
  dependencyMap,
  documentOf,
  layeredDocuments,
  maxConcurrency,
  orderViolations,
  recordedIntervals,
  SEED_AGENTS,
  seedDocuments,
  type Documents,
} from '../helpers/extraction';
import { bundleWorkflows, installQuietRuntime, startStack, type AdosStack } from '../helpers/stack';
import { createTimeSkippingEnv } from '../helpers/toolchain';
import { auditEvents, runRow, sleep } from './fixtures';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;
let stack: AdosStack;
const extraWorkers: Array<{ worker: Worker; running: Promise<void> }> = [];

beforeAll(async () => {
  installQuietRuntime();
  workflowBundle = await bundleWorkflows();
  env = await createTimeSkippingEnv();
  stack = await startStack({ env, workflowBundle, capabilities: ['extract'] });
}, 180_000);

afterAll(async () => {
  for (const { worker } of extraWorkers) if (worker.getState() === 'RUNNING') worker.shutdown();
  await Promise.allSettled(extraWorkers.map((w) => w.running));
  await stack?.shutdown();
  await env?.teardown();
});

let tenantCounter = 0;
const freshTenant = (tag: string) => `${tag}_${++tenantCounter}_${Math.random().toString(36).slice(2, 6)}`;

function input(tenantId: string, documents: Documents, extra: Partial<ExtractionInput> = {}): ExtractionInput {
  return { tenantId, setName: 'seed', requestedBy: 'carol', documents, ...extra };
}

async function extract(raw: ExtractionInput, prefix = stack.taskQueuePrefix): Promise<ExtractionResult> {
  const { workflowId } = await startExtraction(stack.client, { ...stack.config, taskQueuePrefix: prefix }, raw);
  return getExtractionResult(stack.client, workflowId);
}

/** Extract activities scheduled by a run, from its history. */
async function extractActivities(workflowId: string): Promise<string[]> {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'extractAgent')
    .map((e) => e.activityTaskScheduledEventAttributes!.taskQueue!.name!);
}

const states = (result: ExtractionResult) => Object.fromEntries(Object.entries(result.nodes).map(([name, n]) => [name, n.state]));

/**
 * Control and extract workers on a prefix of their own (sharing the stack's database), for generator versions or an
 * extract activity other than the default.
 */
async function startCustomWorkers(options: {
  versions?: GeneratorVersions;
  wrapExtract?: (real: (request: ExtractAgentRequest) => Promise<unknown>) => (request: ExtractAgentRequest) => Promise<unknown>;
}): Promise<string> {
  const prefix = `x${Math.random().toString(36).slice(2, 8)}`;
  const identity = `custom-${process.pid}@${hostname()}`;
  const real = createExtractionWorkerActivities({ db: stack.db, logger: createLogger('test-extract', 'warn'), workerIdentity: identity, versions: options.versions });
  const control = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: controlTaskQueue(prefix),
    workflowBundle,
    activities: { ...createActivities({ db: stack.db }), ...createExtractionControlActivities(stack.db, options.versions) },
    shutdownGraceTime: '2s',
  });
  const extractWorker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: capabilityTaskQueue('extract', prefix),
    identity,
    activities: { extractAgent: options.wrapExtract ? options.wrapExtract(real.extractAgent) : real.extractAgent },
    shutdownGraceTime: '2s',
  });
  for (const worker of [control, extractWorker]) extraWorkers.push({ worker, running: worker.run() });
  return prefix;
}

describe('dependency order and parallelism', () => {
  test('the seed set runs in dependency order: no agent starts before its dependencies end', async () => {
    const documents = seedDocuments();
    const result = await extract(input(freshTenant('order'), documents, { maxParallel: 5, simulatedWorkMs: 200 }));
    expect(result.outcome).toBe('succeeded');
    expect(states(result)).toEqual(Object.fromEntries(SEED_AGENTS.map((a) => [a, 'done'])));
    expect(result.order[0]).toBe('TensorAIOS');
    expect(orderViolations(result, dependencyMap(documents))).toEqual([]);
    // Trainer and Main both only wait for TensorAIOS: they overlap (every ready agent starts at once).
    const intervals = Object.fromEntries(recordedIntervals(result).map((i) => [i.name, i]));
    expect(intervals.Trainer.start).toBeLessThan(intervals.Main.end);
    expect(intervals.Main.start).toBeLessThan(intervals.Trainer.end);
    expect(result.cache).toEqual({ hits: 0, misses: 5 });
    expect(result.extracted).toBe(5);
    for (const node of Object.values(result.nodes)) {
      expect(node.artifacts?.map((a) => a.kind).sort()).toEqual(['manifest', 'module', 'readme', 'test']);
      expect(node.worker).toBe(stack.capabilityIdentity);
    }
    expect(await extractActivities(result.workflowId)).toEqual(Array(5).fill(capabilityTaskQueue('extract', stack.taskQueuePrefix)));
  });

  test('a layered DAG never runs more than maxParallel agents at once, and reaches the limit', async () => {
    const documents = layeredDocuments(4, 3, 2);
    const result = await extract(input(freshTenant('par'), documents, { setName: 'layered', maxParallel: 3, simulatedWorkMs: 300 }));
    expect(result.outcome).toBe('succeeded');
    const intervals = recordedIntervals(result);
    expect(intervals).toHaveLength(12);
    expect(maxConcurrency(intervals)).toBe(3);
    expect(orderViolations(result, dependencyMap(documents))).toEqual([]);
  });

  test('the progress query shows each agent running, then its final state with durations and cache counts', async () => {
    const documents = seedDocuments();
    const { workflowId } = await startExtraction(stack.client, stack.config, input(freshTenant('progress'), documents, { maxParallel: 1, simulatedWorkMs: 400 }));
    const seen = new Set<string>();
    let last: ExtractionProgress | undefined;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      last = await getExtractionProgress(stack.client, workflowId);
      for (const [name, node] of Object.entries(last.nodes)) if (node.state === 'running') seen.add(name);
      if (last.stage === 'finished') break;
      expect(last.counts.running).toBeLessThanOrEqual(1);
      await sleep(50);
    }
    expect(last?.stage).toBe('finished');
    expect(seen.size).toBeGreaterThanOrEqual(3);
    expect(last).toMatchObject({ outcome: 'succeeded', counts: { pending: 0, running: 0, done: 5, cached: 0, failed: 0, skipped: 0 }, cache: { hits: 0, misses: 5 } });
    for (const node of Object.values(last!.nodes)) {
      expect(node.durationMs).toBeGreaterThanOrEqual(400);
      expect(node.plan).toBe('run');
      expect(node.reasons?.[0]?.part).toBe('new');
    }
  });
});

describe('the cache', () => {
  const tenant = freshTenant('cache');
  let cold: ExtractionResult;

  beforeAll(async () => {
    cold = await extract(input(tenant, seedDocuments()));
  });

  test('a second run of the same set reuses every agent and runs no extract activity', async () => {
    expect(cold.cache).toEqual({ hits: 0, misses: 5 });
    const warm = await extract(input(tenant, seedDocuments()));
    expect(warm.outcome).toBe('succeeded');
    expect(states(warm)).toEqual(Object.fromEntries(SEED_AGENTS.map((a) => [a, 'cached'])));
    expect(warm.cache).toEqual({ hits: 5, misses: 0 });
    expect(warm.extracted).toBe(0);
    expect(await extractActivities(warm.workflowId)).toEqual([]);
    for (const name of SEED_AGENTS) {
      expect(warm.nodes[name].outputSha256).toBe(cold.nodes[name].outputSha256);
      expect(warm.nodes[name].artifacts).toEqual(cold.nodes[name].artifacts);
    }
    // The hits are recorded per run.
    const rows = await stack.db.selectFrom('extraction_nodes').select(['agent', 'state', 'cache_key']).where('workflow_id', '=', warm.workflowId).orderBy('agent').execute();
    expect(rows.map((r) => [r.agent, r.state, r.cache_key])).toEqual(
      [...SEED_AGENTS].sort().map((a) => [a, 'cached', cold.nodes[a].cacheKey]),
    );
  });

  test('a schema change re-extracts exactly that agent and everything downstream of it', async () => {
    const documents = seedDocuments();
    (documentOf(documents, 'Main').reasoning as Record<string, unknown>).decisionLatencyMs = 900;
    const changed = await extract(input(tenant, documents));
    expect(states(changed)).toEqual({ TensorAIOS: 'cached', Trainer: 'cached', Main: 'done', 'PlastOS Adapter': 'done', Auditor: 'done' });
    expect(changed.cache).toEqual({ hits: 2, misses: 3 });
    expect(await extractActivities(changed.workflowId)).toHaveLength(3);
    for (const name of ['Main', 'PlastOS Adapter', 'Auditor']) expect(changed.nodes[name].outputSha256).not.toBe(cold.nodes[name].outputSha256);

    const progress = await getExtractionProgress(stack.client, changed.workflowId);
    expect(progress.nodes.Main.reasons?.map((r) => r.part)).toEqual(['schema']);
    expect(progress.nodes.Main.reasons?.[0].message).toMatch(/^schema changed \(sha256 [0-9a-f]{8} → [0-9a-f]{8}\)$/);
    expect(progress.nodes['PlastOS Adapter'].reasons).toEqual([{ part: 'dependencies', message: 'upstream Main is extracted first (its output hash is part of this key)' }]);
    expect(progress.nodes.TensorAIOS.plan).toBe('reuse');

    // Both versions stay cached: going back to the original schema is all hits.
    const back = await extract(input(tenant, seedDocuments()));
    expect(back.cache).toEqual({ hits: 5, misses: 0 });
  });

  test('a new extractor version invalidates every agent, naming the extractor as the reason', async () => {
    const prefix = await startCustomWorkers({ versions: { extractorVersion: `${EXTRACTOR_VERSION}-next`, glueVersion: GLUE_VERSION } });
    const result = await extract(input(tenant, seedDocuments()), prefix);
    expect(result.cache).toEqual({ hits: 0, misses: 5 });
    const progress = await getExtractionProgress(stack.client, result.workflowId);
    expect(progress.nodes.TensorAIOS.reasons).toEqual([{ part: 'extractor', message: `extractor version changed (${EXTRACTOR_VERSION} → ${EXTRACTOR_VERSION}-next)` }]);
    expect(progress.nodes.Trainer.reasons?.map((r) => r.part)).toEqual(['extractor', 'dependencies']);
  });

  test('a new template (glue) version invalidates every agent, naming the glue as the reason', async () => {
    const prefix = await startCustomWorkers({ versions: { extractorVersion: EXTRACTOR_VERSION, glueVersion: `${GLUE_VERSION}-next` } });
    const result = await extract(input(tenant, seedDocuments()), prefix);
    expect(result.cache).toEqual({ hits: 0, misses: 5 });
    const progress = await getExtractionProgress(stack.client, result.workflowId);
    expect(progress.nodes.TensorAIOS.reasons).toEqual([{ part: 'glue', message: `template (glue) version changed (${GLUE_VERSION} → ${GLUE_VERSION}-next)` }]);
  });

  test('the cache is per tenant', async () => {
    const other = await extract(input(freshTenant('other'), seedDocuments()));
    expect(other.cache).toEqual({ hits: 0, misses: 5 });
    expect(other.nodes.Main.outputSha256).toBe(cold.nodes.Main.outputSha256);
  });
});

test('a failed agent skips its dependents with the reason; independent branches finish; every outcome is listed', async () => {
  const prefix = await startCustomWorkers({
    wrapExtract: (real) => async (request) => {
      if (request.agent.name === 'Main') throw ApplicationFailure.nonRetryable('template store unavailable for Main', 'ExtractionBroken');
      return real(request);
    },
  });
  const tenant = freshTenant('fail');
  const result = await extract(input(tenant, seedDocuments()), prefix);
  expect(result.outcome).toBe('failed');
  expect(result.reason).toMatch(/^agent "Main" failed: .*template store unavailable for Main/);
  expect(states(result)).toEqual({ TensorAIOS: 'done', Trainer: 'done', Main: 'failed', 'PlastOS Adapter': 'skipped', Auditor: 'skipped' });
  expect(result.nodes['PlastOS Adapter'].reason).toBe('dependency "Main" failed');
  expect(result.nodes.Auditor.reason).toBe('dependency "Main" failed');
  expect(result.nodes.Main.error).toContain('template store unavailable for Main');
  expect(Object.keys(result.nodes)).toHaveLength(5);

  const rows = await stack.db.selectFrom('extraction_nodes').selectAll().where('workflow_id', '=', result.workflowId).orderBy('agent').execute();
  expect(rows.map((r) => [r.agent, r.state])).toEqual([
    ['Auditor', 'skipped'],
    ['Main', 'failed'],
    ['PlastOS Adapter', 'skipped'],
    ['TensorAIOS', 'done'],
    ['Trainer', 'done'],
  ]);
  expect((await runRow(stack.db, result.workflowId)).status).toBe('failed');
  // Only the successful agents have a recorded manifest and a cache entry.
  const manifests = await stack.db.selectFrom('manifests').select('agent').where('recorded_by', '=', result.workflowId).orderBy('agent').execute();
  expect(manifests.map((m) => m.agent)).toEqual(['TensorAIOS', 'Trainer']);
  // Non-retryable: Main was tried once; its dependents never scheduled.
  expect(await extractActivities(result.workflowId)).toHaveLength(3);
});

describe('a breaking (major-version) migration waits for a human', () => {
  /** The seed set with TensorAIOS written in the 5.9 format. */
  function withOldTensor(): Documents {
    const documents = seedDocuments();
    const tensor = documentOf(documents, 'TensorAIOS');
    tensor.version = '5.9.2';
    tensor.memory = tensor.memoryTopology;
    delete tensor.memoryTopology;
    const deployment = tensor.deployment as Record<string, unknown>;
    deployment.timeout = deployment.timeoutMs;
    delete deployment.timeoutMs;
    delete deployment.authRequired;
    delete deployment.apiMode;
    const reasoning = tensor.reasoning as Record<string, unknown>;
    reasoning.model = reasoning.primaryModel;
    delete reasoning.primaryModel;
    return documents;
  }

  test('the client refuses it without approvers, naming the field', async () => {
    const error = await startExtraction(stack.client, stack.config, input(freshTenant('noappr'), withOldTensor())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputValidationError);
    expect((error as InputValidationError).issues).toEqual([
      {
        path: 'approval',
        message: 'required: TensorAIOS (5.9.2 → 6.0.0) needs a breaking migration, which waits for a human approval; give approvers (ados extract --approvers alice,bob)',
      },
    ]);
  });

  test('approved: migrations are applied and recorded, then every agent is extracted', async () => {
    const tenant = freshTenant('appr');
    const { workflowId } = await startExtraction(stack.client, stack.config, input(tenant, withOldTensor(), { approval: { approvers: ['alice', 'bob'] } }));
    let progress: ExtractionProgress | undefined;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(50)) {
      progress = await getExtractionProgress(stack.client, workflowId);
      if (progress.stage === 'awaiting_approval') break;
    }
    expect(progress).toMatchObject({ stage: 'awaiting_approval', counts: { pending: 5 } });
    expect(progress?.waitingFor).toContain('TensorAIOS 5.9.2 → 6.0.0');
    expect(progress?.migrations.map((m) => [m.agent, m.from, m.to, m.breaking])).toEqual([
      ['TensorAIOS', '5.9.2', '6.0.0', true],
      ['TensorAIOS', '6.0.0', '6.1.0', false],
    ]);
    // Nothing is extracted while it waits.
    expect(await extractActivities(workflowId)).toEqual([]);
    // The requester cannot approve; a listed approver can (the same gate and CLI path as delivery runs).
    await expect(decide(stack.client, workflowId, { decision: 'approve', approver: 'carol' })).rejects.toThrow('"carol" is not a listed approver');
    const snapshot = await decide(stack.client, workflowId, { decision: 'approve', approver: 'alice', comment: 'migration reviewed' });
    expect(snapshot?.outcome).toBe('approved');

    const result = await getExtractionResult(stack.client, workflowId);
    expect(result.outcome).toBe('succeeded');
    expect(result.cache.misses).toBe(5);
    const applied = await stack.db
      .selectFrom('schema_migrations_applied')
      .select(['agent', 'seq', 'migration_id', 'from_version', 'to_version', 'breaking', 'changes'])
      .where('workflow_id', '=', workflowId)
      .orderBy('seq')
      .execute();
    expect(applied.map((r) => [r.agent, r.seq, r.migration_id, r.from_version, r.to_version, r.breaking])).toEqual([
      ['TensorAIOS', 0, '5.9-to-6.0', '5.9.2', '6.0.0', true],
      ['TensorAIOS', 1, '6.0-to-6.1', '6.0.0', '6.1.0', false],
    ]);
    expect((applied[0].changes as Array<{ op: string; path: string }>).map((c) => `${c.op} ${c.path}`)).toEqual([
      'rename memory',
      'rename deployment.timeout',
      'rename reasoning.model',
      'add deployment.authRequired',
    ]);
    const events = (await auditEvents(stack.db, workflowId)).map((e) => e.event);
    expect(events).toEqual(['run.started', 'schema.migrated', 'schema.migrated', 'approval.requested', 'approval.granted', 'run.finished']);
    const approvals = await stack.db.selectFrom('approvals').select(['gate', 'approver', 'counted']).where('workflow_id', '=', workflowId).execute();
    expect(approvals).toEqual([{ gate: 'schema-migration', approver: 'alice', counted: true }]);
    // The migrated TensorAIOS is the same schema as the current-format one: its cache entry is shared.
    const current = await extract(input(tenant, seedDocuments()));
    expect(current.nodes.TensorAIOS.state).toBe('cached');
  });

  test('rejected: nothing is extracted, every agent is skipped with the reason', async () => {
    const { workflowId } = await startExtraction(stack.client, stack.config, input(freshTenant('rej'), withOldTensor(), { approval: { approvers: ['alice', 'bob'] } }));
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(50)) {
      if ((await getExtractionProgress(stack.client, workflowId)).stage === 'awaiting_approval') break;
    }
    await decide(stack.client, workflowId, { decision: 'reject', approver: 'bob', comment: 'renames break the dashboards' });
    const result = await getExtractionResult(stack.client, workflowId);
    expect(result.outcome).toBe('rejected');
    expect(result.reason).toBe('breaking migration rejected by bob');
    expect(states(result)).toEqual(Object.fromEntries(SEED_AGENTS.map((a) => [a, 'skipped'])));
    expect(await extractActivities(workflowId)).toEqual([]);
  });
});

test('input given straight to the workflow is refused with InvalidExtractionInput naming the cycle, and nothing is written', async () => {
  const documents = seedDocuments();
  documentOf(documents, 'TensorAIOS').dependsOn = ['Auditor'];
  const raw = input(freshTenant('cycle'), documents);
  const refused = await startExtraction(stack.client, stack.config, raw).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(InputValidationError);
  const workflowId = `direct-extraction-${Math.random().toString(36).slice(2, 8)}`;
  const handle = await stack.client.workflow.start('schemaExtraction', { taskQueue: controlTaskQueue(stack.taskQueuePrefix), workflowId, args: [raw] });
  const error = await handle.result().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const failure = (error as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('InvalidExtractionInput');
  expect(failure.nonRetryable).toBe(true);
  expect(failure.message).toContain(
    'auditor.yaml: dependsOn: error [dependencies] dependency cycle: Auditor → TensorAIOS → Auditor (each depends on the next); break it by removing one of these dependsOn entries',
  );
  expect(await stack.db.selectFrom('runs').select('workflow_id').where('workflow_id', '=', workflowId).execute()).toEqual([]);
});

describe('extract as a delivery-plan capability', () => {
  const plan = (tasks: Array<Record<string, unknown>>) => ({
    tenantId: freshTenant('plan'),
    runId: `extract-${Math.random().toString(36).slice(2, 8)}`,
    requestedBy: 'carol',
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 },
    environments: ['dev'],
    plan: { tasks },
  });

  test('extract tasks chain through their dependencies: the output hashes match schemaExtraction', async () => {
    const documents = seedDocuments();
    const { workflowId } = await stack.startRun(
      plan([
        { id: 'tensor', capability: 'extract', input: { schema: documentOf(documents, 'TensorAIOS') } },
        { id: 'main', capability: 'extract', input: { schema: documentOf(documents, 'Main') }, dependsOn: ['tensor'] },
      ]),
    );
    const result = await stack.result(workflowId);
    expect(result.outcome).toBe('succeeded');
    const outputs = result.outputs as Record<string, { agent: string; cached: boolean; outputSha256: string; artifacts: unknown[] }>;
    expect(outputs.main).toMatchObject({ agent: 'Main', cached: false });
    expect(outputs.main.artifacts).toHaveLength(4);
    // The same agent from schemaExtraction, for another tenant, has the same output (same schema, same dependency outputs).
    const extracted = await extract(input(freshTenant('same'), seedDocuments()));
    expect(outputs.tensor.outputSha256).toBe(extracted.nodes.TensorAIOS.outputSha256);
    expect(outputs.main.outputSha256).toBe(extracted.nodes.Main.outputSha256);
  });

  test('a dependency no upstream task extracts is an input error naming the field', async () => {
    const { workflowId } = await stack.startRun(plan([{ id: 'main', capability: 'extract', input: { schema: documentOf(seedDocuments(), 'Main') } }]));
    const result = await stack.result(workflowId);
    expect(result.outcome).toBe('failed');
    expect(result.reason).toContain(
      'task "main" (extract): input.schema.dependsOn[0]: "TensorAIOS" is not extracted by an upstream task (upstream agents: none); add the extract task of "TensorAIOS" to this task\'s dependsOn',
    );
  });
});
