/**
 * Where recorded histories live: test/histories/<set>/, one set for the code on main (`main`, re-recorded by
 * record-histories.ts) and one per tagged release (`v0.2.0`, …: frozen by freeze-release.ts, never written again).
 * Each set has a workflow-ids.json beside its files, since histories do not carry their workflow id.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import { historyFromJSON } from './history-json';

export const HISTORY_SETS_DIR = path.resolve(__dirname, '..', 'histories');
/** The set of the code on main. */
export const MAIN_SET = 'main';
/** File name → workflow id of the recorded run, in each set. */
export const WORKFLOW_IDS_FILE = 'workflow-ids.json';

export interface RecordedHistory {
  set: string;
  /** `<set>/<workflowType>-<scenario>.json` */
  file: string;
  name: string;
  workflowId: string;
  workflowType: string;
  history: History;
}

const RELEASE = /^v(\d+)\.(\d+)\.(\d+)$/;

/** The sets present: main and every release folder. */
export function historySets(): string[] {
  return fs
    .readdirSync(HISTORY_SETS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && (entry.name === MAIN_SET || RELEASE.test(entry.name)))
    .map((entry) => entry.name)
    .sort();
}

/** The newest release among the sets, by semantic version. */
export function latestRelease(sets: readonly string[]): string | undefined {
  const version = (s: string) => (RELEASE.exec(s) ?? []).slice(1).map(Number);
  return sets
    .filter((s) => RELEASE.test(s))
    .sort((a, b) => {
      const [x, y] = [version(a), version(b)];
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    })
    .at(-1);
}

export function isRelease(set: string): boolean {
  return RELEASE.test(set);
}

/** Every history of one set. */
export function loadHistorySet(set: string): RecordedHistory[] {
  const dir = path.join(HISTORY_SETS_DIR, set);
  const idsPath = path.join(dir, WORKFLOW_IDS_FILE);
  const workflowIds: Record<string, string> = fs.existsSync(idsPath) ? JSON.parse(fs.readFileSync(idsPath, 'utf8')) : {};
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.json') && name !== WORKFLOW_IDS_FILE)
    .sort()
    .map((name) => {
      const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')));
      const workflowType = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
      if (!workflowType) throw new Error(`${set}/${name}: the first event is not WorkflowExecutionStarted`);
      return { set, file: `${set}/${name}`, name, workflowId: workflowIds[name] ?? `replay-${name}`, workflowType, history };
    });
}
