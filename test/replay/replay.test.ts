/**
 * The determinism gate: every recorded history in test/histories replays against the current workflow code without
 * error, every workflow type the worker serves (workflows/index.ts) has at least one recorded history, and, so that
 * this test is known to be able to fail, a deliberately reordered deliveryRun is caught as a DeterminismViolationError.
 *
 * Re-record with `npx tsx test/replay/record-histories.ts` (see test/histories/README.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker, type ReplayResult, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import * as workflows from '../../workflows';
import { DAG_WAKE_ON_SETTLE_PATCH } from '../../workflows/dag';
import { AUDIT_SKIPPED_TASKS_PATCH, ROUTING_ESCALATION_PATCH } from '../../workflows/delivery/delivery-run';
import { bundleWorkflows, installQuietRuntime } from '../helpers/stack';
import { historyFromJSON } from './history-json';

const HISTORIES_DIR = path.resolve(__dirname, '..', 'histories');
/** File name → workflow id of the recorded run (histories do not carry it; workflows may read it). */
const WORKFLOW_IDS_FILE = 'workflow-ids.json';

interface RecordedHistory {
  file: string;
  workflowId: string;
  workflowType: string;
  history: History;
}

function loadHistories(): RecordedHistory[] {
  const idsPath = path.join(HISTORIES_DIR, WORKFLOW_IDS_FILE);
  const workflowIds: Record<string, string> = fs.existsSync(idsPath) ? JSON.parse(fs.readFileSync(idsPath, 'utf8')) : {};
  return fs
    .readdirSync(HISTORIES_DIR)
    .filter((file) => file.endsWith('.json') && file !== WORKFLOW_IDS_FILE)
    .sort()
    .map((file) => {
      const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
      const workflowType = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
      if (!workflowType) throw new Error(`${file}: the first event is not WorkflowExecutionStarted`);
      return { file, workflowId: workflowIds[file] ?? `replay-${file}`, workflowType, history };
    });
}

/** Replays the histories on one replay worker; results by file name. */
async function replay(workflowBundle: WorkflowBundle, histories: RecordedHistory[]): Promise<Map<string, ReplayResult & { file: string }>> {
  const fileById = new Map(histories.map((h) => [h.workflowId, h.file]));
  const results = new Map<string, ReplayResult & { file: string }>();
  const input = histories.map(({ workflowId, history }) => ({ workflowId, history }));
  for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'determinism-gate' }, input)) {
    const file = fileById.get(result.workflowId) ?? result.workflowId;
    results.set(file, { ...result, file });
  }
  return results;
}

const timings: Record<string, number> = {};
let histories: RecordedHistory[];
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  installQuietRuntime();
  histories = loadHistories();
  const started = Date.now();
  workflowBundle = await bundleWorkflows();
  timings.bundle = Date.now() - started;
}, 60_000);

afterAll(() => {
  process.stdout.write(`[replay] timings (ms): ${JSON.stringify(timings)}\n`);
});

test('every recorded history replays against the current workflow code', async () => {
  expect(histories.length).toBeGreaterThan(0);
  const started = Date.now();
  const results = await replay(workflowBundle, histories);
  timings.replayAll = Date.now() - started;
  expect([...results.keys()].sort()).toEqual(histories.map((h) => h.file));
  const failures = [...results.values()].filter((r) => r.error).map((r) => `${r.file}: ${r.error?.name}: ${r.error?.message}`);
  expect(failures).toEqual([]);
});

test('every workflow type in workflows/index.ts has at least one recorded history', () => {
  const workflowTypes = Object.entries(workflows)
    .filter(([, value]) => typeof value === 'function')
    .map(([name]) => name)
    .sort();
  expect(workflowTypes).toContain('deliveryRun');
  const recorded = new Set(histories.map((h) => h.workflowType));
  const missing = workflowTypes.filter((type) => !recorded.has(type));
  // A new workflow type needs a recorded history here (test/replay/record-histories.ts) before it ships.
  expect(missing).toEqual([]);
  // And the files are named after their workflow type, with the recorded workflow id beside them.
  for (const { file, workflowType, workflowId } of histories) {
    expect({ file, named: file.startsWith(`${workflowType}-`), id: workflowId.startsWith('replay-') ? 'missing' : 'recorded' }).toEqual({ file, named: true, id: 'recorded' });
  }
});

/** The ids of the patch markers (`patched()`) a history recorded. */
function patchesIn(history: History): Set<string> {
  const ids = new Set<string>();
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') continue;
    for (const payloads of Object.values(marker.details ?? {})) {
      for (const payload of payloads.payloads ?? []) {
        const id = (JSON.parse(Buffer.from(payload.data ?? []).toString('utf8')) as { id?: string }).id;
        if (id) ids.add(id);
      }
    }
  }
  return ids;
}

test.each([
  [ROUTING_ESCALATION_PATCH, 'deliveryRun'],
  [DAG_WAKE_ON_SETTLE_PATCH, 'deliveryRun'],
  [DAG_WAKE_ON_SETTLE_PATCH, 'schemaExtraction'],
  [AUDIT_SKIPPED_TASKS_PATCH, 'deliveryRun'],
])('both branches of patch %s are recorded for %s: runs from before it and runs with it', (patch, workflowType) => {
  const ofType = histories.filter((h) => h.workflowType === workflowType && !h.file.includes('invalid'));
  const withPatch = ofType.filter((h) => patchesIn(h.history).has(patch)).map((h) => h.file);
  const without = ofType.filter((h) => !patchesIn(h.history).has(patch)).map((h) => h.file);
  expect(withPatch.length).toBeGreaterThan(0);
  expect(without.length).toBeGreaterThan(0);
});

test('the gate can fail: a deliveryRun that schedules its tasks in another order is a DeterminismViolationError', async () => {
  const started = Date.now();
  const reorderedBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./fixtures/reordered-workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const approved = histories.find((h) => h.file === 'deliveryRun-approved-quorum.json');
  expect(approved).toBeDefined();
  const results = await replay(reorderedBundle, [approved!]);
  timings.negativeCheck = Date.now() - started;
  const error = results.get(approved!.file)?.error;
  expect(error).toBeInstanceOf(DeterminismViolationError);
  expect(error?.message).toMatch(/\[TMPRL1100\] Nondeterminism error: Activity type of scheduled event '\w+' does not match activity type of activity command '\w+'/);
});
