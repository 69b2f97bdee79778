/**
 * The determinism gate: every recorded history replays against the current workflow code without error, both the
 * histories of the code on main (test/histories/main/) and those frozen with each tagged release
 * (test/histories/v<release>/, never re-recorded); every workflow type the worker serves (workflows/index.ts) has
 * recorded histories on main and in the latest release; every patch marker has histories from both sides of it; and,
 * so that this test is known to be able to fail, a deliberately reordered deliveryRun is caught as a
 * DeterminismViolationError.
 *
 * Re-record main with `npx tsx test/replay/record-histories.ts`; freeze a release with
 * `npx tsx test/replay/freeze-release.ts v<version>` (see test/histories/README.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker, type ReplayResult, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import * as workflows from '../../workflows';
import { bundleWorkflows, installQuietRuntime } from '../helpers/stack';
import { HISTORY_SETS_DIR, historySets, latestRelease, loadHistorySet, MAIN_SET, type RecordedHistory } from './history-sets';

/** Replays histories on one replay worker (one set at a time: workflow ids repeat across sets); results by file. */
async function replay(workflowBundle: WorkflowBundle, histories: RecordedHistory[]): Promise<Map<string, ReplayResult & { file: string }>> {
  const results = new Map<string, ReplayResult & { file: string }>();
  for (const set of new Set(histories.map((h) => h.set))) {
    const ofSet = histories.filter((h) => h.set === set);
    const fileById = new Map(ofSet.map((h) => [h.workflowId, h.file]));
    const input = ofSet.map(({ workflowId, history }) => ({ workflowId, history }));
    for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'determinism-gate' }, input)) {
      const file = fileById.get(result.workflowId) ?? result.workflowId;
      results.set(file, { ...result, file });
    }
  }
  return results;
}

const timings: Record<string, number> = {};
let histories: RecordedHistory[];
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  installQuietRuntime();
  histories = historySets().flatMap(loadHistorySet);
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
  expect([...results.keys()].sort()).toEqual(histories.map((h) => h.file).sort());
  const failures = [...results.values()].filter((r) => r.error).map((r) => `${r.file}: ${r.error?.name}: ${r.error?.message}`);
  expect(failures).toEqual([]);
});

test('the history sets are main and the frozen releases, and at least one release is frozen', () => {
  const sets = historySets();
  expect(sets).toContain(MAIN_SET);
  expect(sets.filter((s) => s !== MAIN_SET).every((s) => /^v\d+\.\d+\.\d+$/.test(s))).toBe(true);
  expect(latestRelease(sets)).toBeDefined();
  // Nothing lies loose beside the sets, where the gate would not see it.
  expect(fs.readdirSync(HISTORY_SETS_DIR).filter((f) => f.endsWith('.json'))).toEqual([]);
});

test('every workflow type in workflows/index.ts has recorded histories on main and in the latest release', () => {
  const workflowTypes = Object.entries(workflows)
    .filter(([, value]) => typeof value === 'function')
    .map(([name]) => name)
    .sort();
  expect(workflowTypes).toContain('deliveryRun');
  const sets = historySets();
  // A new workflow type needs a recorded history on main (test/replay/record-histories.ts) before it ships; a release
  // freezes it. A type added since the latest release is only required on main.
  const release = latestRelease(sets);
  for (const set of [MAIN_SET]) {
    const recorded = new Set(histories.filter((h) => h.set === set).map((h) => h.workflowType));
    expect({ set, missing: workflowTypes.filter((type) => !recorded.has(type)) }).toEqual({ set, missing: [] });
  }
  expect(histories.some((h) => h.set === release)).toBe(true);
  // And the files are named after their workflow type, with the recorded workflow id beside them.
  for (const { file, name, workflowType, workflowId } of histories) {
    expect({ file, named: name.startsWith(`${workflowType}-`), id: workflowId.startsWith('replay-') ? 'missing' : 'recorded' }).toEqual({
      file,
      named: true,
      id: 'recorded',
    });
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

test('every patch marker on main has histories from both sides: a frozen release without it, and main with it', () => {
  const marked = histories.filter((h) => h.set === MAIN_SET).flatMap((h) => [...patchesIn(h.history)].map((patch) => ({ patch, workflowType: h.workflowType })));
  for (const { patch, workflowType } of marked) {
    const before = histories.filter((h) => h.set !== MAIN_SET && h.workflowType === workflowType && !patchesIn(h.history).has(patch) && !h.name.includes('invalid'));
    expect({ patch, workflowType, releasedWithout: before.length > 0 }).toEqual({ patch, workflowType, releasedWithout: true });
  }
  // Before the first release (or while main adds no patch) this checks nothing more; the reader above is tested here.
  expect(patchesIn({ events: [] })).toEqual(new Set());
});

test('the gate can fail: a deliveryRun that schedules its tasks in another order is a DeterminismViolationError', async () => {
  const started = Date.now();
  const reorderedBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./fixtures/reordered-workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const approved = histories.find((h) => h.set === MAIN_SET && h.name === 'deliveryRun-approved-quorum.json');
  expect(approved).toBeDefined();
  const results = await replay(reorderedBundle, [approved!]);
  timings.negativeCheck = Date.now() - started;
  const error = results.get(approved!.file)?.error;
  expect(error).toBeInstanceOf(DeterminismViolationError);
  expect(error?.message).toMatch(/\[TMPRL1100\] Nondeterminism error: Activity type of scheduled event '\w+' does not match activity type of activity command '\w+'/);
});
