/**
 * Records the workflow histories that test/replay/replay.test.ts replays (the determinism gate):
 *
 *   npx tsx test/replay/record-histories.ts            # every scenario
 *   npx tsx test/replay/record-histories.ts expired    # only the named ones
 *
 * Each scenario runs on the time-skipping test server with the real workers and activities (PGlite in memory), is
 * checked to have ended as intended, and its history is written as JSON (the format of `temporal workflow show
 * --output json`) to test/histories/main/<workflowType>-<scenario>.json; its workflow id goes to
 * test/histories/main/workflow-ids.json (histories do not carry it, and a replay should see the real one).
 * Frozen releases (test/histories/v*) are never written here: see test/histories/README.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decide } from '../../client/common/approval';
import { getExtractionProgress, getExtractionResult, readSchemaDir, readSchemaFiles, startExtraction } from '../../client/extraction';
import { approveSignal, rejectSignal } from '../../shared/contract/approval';
import { resolveSignal } from '../../shared/contract/delivery/escalation';
import type { ExtractionInput } from '../../shared/contract/extraction/messages';
import type { DeliveryOutcome } from '../../shared/contract/delivery/status';
import type { AnomalyPipelineOutcome } from '../../shared/contract/anomaly/pipeline';
import type { RemediationOutcome } from '../../shared/contract/remediation/input';
import type { TaskRuntimeOutcome } from '../../shared/contract/task-runtime/messages';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import { bundleWorkflows, installQuietRuntime, startStack, type AdosStack } from '../helpers/stack';
import { createTimeSkippingEnv } from '../helpers/toolchain';
import { brokenBuildRun, exampleRun, PROJECT_EXAMPLES } from '../workflows/fixtures';
import { ANOMALY_PIPELINE_SCENARIOS } from './anomaly-pipeline-scenarios';
import { APPROVAL_SCENARIOS } from './approval-scenarios';
import { approvedByAlice, ESCALATION_SCENARIOS } from './escalation-scenarios';
import { REMEDIATION_SCENARIOS } from './remediation-scenarios';
import { TASK_RUNTIME_SCENARIOS } from './task-runtime-scenarios';
import { LEARNING_TRANSFER_SCENARIOS } from './learning-transfer-scenarios';
import { LEARNING_STRATEGY_SCENARIOS } from './learning-strategy-scenarios';
import type { PromotionOutcome } from '../../shared/contract/learning/strategy/promotion';
import { ANOMALY_SCENARIOS, type AnomalyScenarioOutcome } from './anomaly-scenarios';
import { TENANT_GATE_SCENARIOS } from './tenant-gate-scenarios';
import { historyToJSON } from './history-json';
import { HISTORY_SETS_DIR, MAIN_SET, WORKFLOW_IDS_FILE } from './history-sets';
import { documentOf, INVALID_DIR, layeredDocuments, seedDocuments } from '../helpers/extraction';

/** The histories of the code on main (re-recorded when a scenario is added or a workflow changes). */
const HISTORIES_DIR = path.join(HISTORY_SETS_DIR, MAIN_SET);
const IDS_FILE = path.join(HISTORIES_DIR, WORKFLOW_IDS_FILE);

interface Scenario {
  /** The file is `<workflowType>-<name>.json`. */
  workflowType: string;
  name: string;
  description: string;
  /** Runs the scenario to its end; returns the workflow id (and the run to record, else the latest) and its outcome. */
  run(stack: AdosStack): Promise<{ workflowId: string; runId?: string; outcome: string }>;
  expected: DeliveryOutcome | 'InvalidDeliveryInput' | 'InvalidExtractionInput' | 'succeeded' | TaskRuntimeOutcome | RemediationOutcome | 'stopped' | AnomalyPipelineOutcome | AnomalyScenarioOutcome | PromotionOutcome;
}

const awaitingApproval = (stack: AdosStack, workflowId: string) => stack.waitForStatus(workflowId, (s) => s.stage === 'awaiting_approval');

const SCENARIOS: Scenario[] = [
  // The approval path by Update and the escalation ladder (test/replay/escalation-scenarios.ts).
  ...ESCALATION_SCENARIOS,
  // The approval gate's policy: signatures checked per decision, an approval lapsed by maxAge (approval-scenarios.ts).
  ...APPROVAL_SCENARIOS,
  // Task runtimes, one spanning a continue-as-new (test/replay/task-runtime-scenarios.ts).
  ...TASK_RUNTIME_SCENARIOS,
  // Remediation on real processes: a restart, a cooldown, a noop, prod after approval (remediation-scenarios.ts).
  ...REMEDIATION_SCENARIOS,
  // The anomaly pipeline on a NAB series: promoted, rejected, escalated then expired (anomaly-pipeline-scenarios.ts).
  ...ANOMALY_PIPELINE_SCENARIOS,
  // The tenant gate: queued runs, a continue-as-new with a queue, a terminated holder (tenant-gate-scenarios.ts).
  ...TENANT_GATE_SCENARIOS,
  // Transfer-learning cycles: promote and revert, keep (test/replay/learning-transfer-scenarios.ts).
  ...LEARNING_TRANSFER_SCENARIOS,
  // Strategy promotion: approved then rolled back, and not better (test/replay/learning-strategy-scenarios.ts).
  ...LEARNING_STRATEGY_SCENARIOS,
  {
    workflowType: 'deliveryRun',
    name: 'approved-quorum',
    description:
      'dev → stage → gate (quorum 2 of alice, bob, dave; carol requests): an early approval (ignored), alice by signal, alice again ' +
      '(ignored), carol (ignored), bob by Update → prod',
    expected: 'succeeded',
    async run(stack) {
      const input = exampleRun(
        { tenantId: 'replay', runId: 'approved-quorum', requestedBy: 'carol', approval: { approvers: ['alice', 'bob', 'dave'], quorum: 2 } },
      );
      const { workflowId, handle } = await stack.startRun(input);
      await handle.signal(approveSignal, { approver: 'alice', comment: 'before the gate' });
      await awaitingApproval(stack, workflowId);
      await handle.signal(approveSignal, { approver: 'alice', comment: 'lgtm' });
      await handle.signal(approveSignal, { approver: 'alice', comment: 'again' });
      await handle.signal(approveSignal, { approver: 'carol' });
      await stack.waitForStatus(workflowId, (s) => (s.approval?.decisions.length ?? 0) >= 4);
      await decide(stack.client, workflowId, { decision: 'approve', approver: 'bob', comment: 'ship it' });
      return { workflowId, outcome: (await stack.result(workflowId)).outcome };
    },
  },
  {
    workflowType: 'deliveryRun',
    name: 'rejected',
    description: 'dev → stage → gate: bob rejects with a comment; prod never runs',
    expected: 'rejected',
    async run(stack) {
      const input = exampleRun({ tenantId: 'replay', runId: 'rejected', requestedBy: 'carol', approval: { approvers: ['alice', 'bob'] } });
      const { workflowId, handle } = await stack.startRun(input);
      await awaitingApproval(stack, workflowId);
      await handle.signal(rejectSignal, { approver: 'bob', comment: 'p95 latency regressed' });
      return { workflowId, outcome: (await stack.result(workflowId)).outcome };
    },
  },
  {
    workflowType: 'deliveryRun',
    name: 'malformed-signals',
    description:
      'dev → stage → gate: a reject signal whose payload says "approve", an approve signal with an extra key, a null one and a malformed resolve signal are each audited as ignored; alice approves → prod',
    expected: 'succeeded',
    async run(stack) {
      const input = exampleRun({ tenantId: 'replay', runId: 'malformed-signals', requestedBy: 'carol', approval: { approvers: ['alice', 'bob'] } });
      const { workflowId, handle } = await stack.startRun(input);
      await awaitingApproval(stack, workflowId);
      await handle.signal(rejectSignal, { decision: 'approve', approver: 'bob' } as never);
      await handle.signal(approveSignal, { approver: 'bob', role: 'admin' } as never);
      await handle.signal(approveSignal, null as never);
      await handle.signal(resolveSignal, { taskId: 7, action: 'skip' } as never);
      await stack.waitForStatus(workflowId, (s) => (s.approval?.decisions.length ?? 0) >= 3);
      await handle.signal(approveSignal, { approver: 'alice', comment: 'lgtm' });
      return { workflowId, outcome: (await stack.result(workflowId)).outcome };
    },
  },
  {
    workflowType: 'deliveryRun',
    name: 'expired',
    description: 'dev → stage → gate: nobody decides; the 72 h default timeout expires (time skipped by the test server)',
    expected: 'approval_expired',
    async run(stack) {
      const input = exampleRun({ tenantId: 'replay', runId: 'expired', requestedBy: 'carol', approval: { approvers: ['alice', 'bob'] } });
      const { workflowId } = await stack.startRun(input);
      await awaitingApproval(stack, workflowId);
      return { workflowId, outcome: (await stack.result(workflowId)).outcome };
    },
  },
  {
    workflowType: 'deliveryRun',
    name: 'failed-task',
    description:
      'dev: build-api fails (unknown template variable, not retried); deploy-api and verify-api are skipped, each with a tasks row and a task.skipped audit entry; latency-report runs',
    expected: 'failed',
    async run(stack) {
      const { workflowId } = await stack.startRun(brokenBuildRun({ tenantId: 'replay', runId: 'failed-task', requestedBy: 'carol' }));
      return { workflowId, outcome: (await stack.result(workflowId)).outcome };
    },
  },
  {
    workflowType: 'deliveryRun',
    name: 'invalid-input',
    description: 'started directly with an unknown dependency: the workflow fails with InvalidDeliveryInput before any activity',
    expected: 'InvalidDeliveryInput',
    async run(stack) {
      const input = exampleRun({ tenantId: 'replay', runId: 'invalid-input' });
      input.plan.tasks[1] = { ...input.plan.tasks[1], dependsOn: ['build-web'] };
      const workflowId = 'delivery-replay-invalid-input';
      const handle = await stack.client.workflow.start('deliveryRun', { taskQueue: controlTaskQueue(stack.taskQueuePrefix), workflowId, args: [input] });
      const error = await handle.result().then(
        () => undefined,
        (e: Error) => e,
      );
      const type = (error?.cause as { type?: string } | undefined)?.type;
      return { workflowId, outcome: type === 'InvalidDeliveryInput' ? type : `unexpected: ${error?.message ?? 'completed'}` };
    },
  },
  {
    workflowType: 'schemaExtraction',
    name: 'examples',
    description: 'the agent schemas in examples/schemas, extracted in dependency order on the extract queue (empty cache)',
    expected: 'succeeded',
    async run(stack) {
      const { sources } = readSchemaDir(path.join(PROJECT_EXAMPLES, 'schemas'));
      return extractionOutcome(stack, { tenantId: 'replay', setName: 'examples', requestedBy: 'carol', documents: sources.map(({ file, document }) => ({ file, document })) });
    },
  },
  {
    workflowType: 'schemaExtraction',
    name: 'warm',
    description: 'the seed set run twice for one tenant: the second run (recorded) reuses every agent from the cache and runs no extract activity',
    expected: 'succeeded',
    async run(stack) {
      const input = { tenantId: 'replay_warm', setName: 'examples', requestedBy: 'carol', documents: seedDocuments() };
      const cold = await startExtraction(stack.client, stack.config, input);
      await getExtractionResult(stack.client, cold.workflowId);
      const { workflowId } = await startExtraction(stack.client, stack.config, input);
      const result = await getExtractionResult(stack.client, workflowId);
      return { workflowId, outcome: result.cache.misses === 0 ? result.outcome : `unexpected: ${result.cache.misses} cache misses` };
    },
  },
  {
    workflowType: 'schemaExtraction',
    name: 'migration-approved',
    description:
      'TensorAIOS in the 5.9 format: migrated 5.9 → 6.0 (breaking) → 6.1, the run waits at the gate; dave (not listed) signals approval (ignored), alice approves by Update; then every agent is extracted',
    expected: 'succeeded',
    async run(stack) {
      const documents = withOldTensorAios();
      const { workflowId } = await startExtraction(stack.client, stack.config, {
        tenantId: 'replay',
        setName: 'migration',
        requestedBy: 'carol',
        documents,
        approval: { approvers: ['alice', 'bob'] },
      });
      await extractionAwaitingApproval(stack, workflowId);
      await stack.client.workflow.getHandle(workflowId).signal(approveSignal, { approver: 'dave', comment: 'not listed' });
      await decide(stack.client, workflowId, { decision: 'approve', approver: 'alice', comment: 'renames reviewed' });
      return { workflowId, outcome: (await getExtractionResult(stack.client, workflowId)).outcome };
    },
  },
  {
    workflowType: 'schemaExtraction',
    name: 'migration-rejected',
    description: 'TensorAIOS in the 5.9 format: the run waits at the gate; bob rejects by signal; every agent is skipped, nothing extracted',
    expected: 'rejected',
    async run(stack) {
      const { workflowId } = await startExtraction(stack.client, stack.config, {
        tenantId: 'replay',
        setName: 'migration-rejected',
        requestedBy: 'carol',
        documents: withOldTensorAios(),
        approval: { approvers: ['alice', 'bob'] },
      });
      await extractionAwaitingApproval(stack, workflowId);
      await stack.client.workflow.getHandle(workflowId).signal(rejectSignal, { approver: 'bob', comment: 'renames break the dashboards' });
      return { workflowId, outcome: (await getExtractionResult(stack.client, workflowId)).outcome };
    },
  },
  {
    workflowType: 'schemaExtraction',
    name: 'layered',
    description: '3 layers of 4 agents (fan-in 2), maxParallel 3, so nodes wait for capacity as well as for their dependencies',
    expected: 'succeeded',
    run: (stack) => extractionOutcome(stack, { tenantId: 'replay', setName: 'layered', requestedBy: 'carol', documents: layeredDocuments(4, 3, 2), maxParallel: 3 }),
  },
  {
    workflowType: 'schemaExtraction',
    // Scenario names select what to record, across workflow types: this one must not be "invalid-input".
    name: 'invalid-cycle',
    description: 'started directly with a dependency cycle (TensorAIOS → Auditor → TensorAIOS): fails with InvalidExtractionInput',
    expected: 'InvalidExtractionInput',
    async run(stack) {
      const documents = seedDocuments();
      documentOf(documents, 'TensorAIOS').dependsOn = ['Auditor'];
      const workflowId = 'extraction-replay-invalid-00000000';
      const handle = await stack.client.workflow.start('schemaExtraction', {
        taskQueue: controlTaskQueue(stack.taskQueuePrefix),
        workflowId,
        args: [{ tenantId: 'replay', setName: 'invalid', requestedBy: 'carol', documents }],
      });
      const error = await handle.result().then(
        () => undefined,
        (e: Error) => e,
      );
      const type = (error?.cause as { type?: string } | undefined)?.type;
      return { workflowId, outcome: type === 'InvalidExtractionInput' ? type : `unexpected: ${error?.message ?? 'completed'}` };
    },
  },
  // The anomaly monitor on a NAB series, one spanning a continue-as-new, and its investigator (anomaly-scenarios.ts).
  // Last, after every scenario that waits on timers: once monitor-started-pipeline ran (its monitor closes while its
  // abandoned child waits), the time-skipping test server skips no more time for the rest of the process (seen on
  // test server 1.38.0 at this commit's parent too; the anomaly pipeline's integration test runs its monitor test last
  // for the same reason).
  ...ANOMALY_SCENARIOS,
];

/** Starts an extraction and waits for its outcome. */
async function extractionOutcome(stack: AdosStack, input: ExtractionInput): Promise<{ workflowId: string; outcome: string }> {
  const { workflowId } = await startExtraction(stack.client, stack.config, input);
  return { workflowId, outcome: (await getExtractionResult(stack.client, workflowId)).outcome };
}

/** The seed set with TensorAIOS replaced by its 5.9-format fixture (a breaking migration). */
function withOldTensorAios() {
  const [old] = readSchemaFiles([path.join(INVALID_DIR, 'migrations', 'tensoraios-5.9.yaml')], () => 'tensoraios.yaml').sources;
  return seedDocuments().map((d) => (d.file === 'tensoraios.yaml' ? { file: d.file, document: old.document as Record<string, unknown> } : d));
}

async function extractionAwaitingApproval(stack: AdosStack, workflowId: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    if ((await getExtractionProgress(stack.client, workflowId)).stage === 'awaiting_approval') return;
  }
  throw new Error(`${workflowId} did not reach awaiting_approval`);
}

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);
const fileOf = (scenario: Scenario) => `${scenario.workflowType}-${scenario.name}.json`;

async function main(only: string[]): Promise<void> {
  const unknown = only.filter((name) => !SCENARIO_NAMES.includes(name));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIO_NAMES.join(', ')}`);
  const chosen = only.length > 0 ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;

  installQuietRuntime();
  const workflowBundle = await bundleWorkflows();
  const env = await createTimeSkippingEnv();
  const stack = await startStack({ env, workflowBundle, taskQueuePrefix: 'replay' });
  try {
    fs.mkdirSync(HISTORIES_DIR, { recursive: true });
    const workflowIds: Record<string, string> = fs.existsSync(IDS_FILE) ? JSON.parse(fs.readFileSync(IDS_FILE, 'utf8')) : {};
    for (const scenario of chosen) {
      const started = Date.now();
      const { workflowId, runId, outcome } = await scenario.run(stack);
      if (outcome !== scenario.expected) throw new Error(`scenario ${scenario.name} ended ${outcome}, expected ${scenario.expected}; nothing written`);
      const history = await stack.client.workflow.getHandle(workflowId, runId).fetchHistory();
      const type = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
      if (type !== scenario.workflowType) throw new Error(`scenario ${scenario.name} ran ${type}, expected ${scenario.workflowType}; nothing written`);
      const file = path.join(HISTORIES_DIR, fileOf(scenario));
      fs.writeFileSync(file, `${historyToJSON(history)}\n`);
      workflowIds[fileOf(scenario)] = workflowId;
      const sorted = Object.fromEntries(Object.entries(workflowIds).sort(([a], [b]) => a.localeCompare(b)));
      fs.writeFileSync(IDS_FILE, `${JSON.stringify(sorted, null, 2)}\n`);
      process.stdout.write(
        `${path.relative(process.cwd(), file)}: ${scenario.description} (${outcome}, ${history.events?.length ?? 0} events, ${Date.now() - started} ms)\n`,
      );
    }
  } finally {
    await stack.shutdown();
    await env.teardown();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
