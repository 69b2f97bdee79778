/**
 * What the task-runtime tests, the history recorder, the crash test and the benchmark share: NDJSON work-item files,
 * the effects of a runtime read back per item (to prove each item processed exactly once), and the runs of a chain.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { Db } from '../../shared/node/db';

/** Writes `count` work-item lines (`{"key":"item-<n>","payload":{"n":n}}`, plus `extra` lines) to a temp file. */
export function writeWorkItems(count: number, options: { extra?: string[]; payload?: (n: number) => unknown } = {}): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ados-items-')), 'items.ndjson');
  const out = fs.openSync(file, 'w');
  const chunk: string[] = [];
  for (let n = 1; n <= count; n++) {
    chunk.push(JSON.stringify({ key: `item-${n}`, payload: options.payload ? options.payload(n) : { n } }));
    if (chunk.length === 10_000) fs.writeSync(out, `${chunk.splice(0).join('\n')}\n`);
  }
  if (chunk.length > 0) fs.writeSync(out, `${chunk.join('\n')}\n`);
  for (const line of options.extra ?? []) fs.writeSync(out, `${line}\n`);
  fs.closeSync(out);
  return file;
}

/**
 * A runtime's effects per item: how many times each seq 1 … n was effected, under any key of its block (`block-<n>`,
 * or a sub-batch's `block-<n>+<offset>`, whose effect i is item offset + i of the block), and any stray.
 */
export async function effectsPerItem(db: Db, workflowId: string, batchSize: number): Promise<{ perSeq: Map<number, number>; rows: number }> {
  const { rows } = await sql<{ seq: number; n: number }>`
    SELECT (substring(task_id from '^block-([0-9]+)')::integer * ${batchSize}::integer
            + coalesce(substring(task_id from '[+]([0-9]+)$')::integer, 0) + item + 1) AS seq, count(*)::integer AS n
    FROM effects WHERE workflow_id = ${workflowId} AND environment = 'runtime' GROUP BY 1`.execute(db);
  const perSeq = new Map(rows.map((r) => [r.seq, r.n]));
  return { perSeq, rows: rows.reduce((sum, r) => sum + r.n, 0) };
}

/** Items 1 … n not effected exactly once (missing or twice), and effected items past n. */
export function exactlyOnceProblems(perSeq: Map<number, number>, n: number, except: ReadonlySet<number> = new Set()): { missing: number[]; twice: number[]; stray: number[] } {
  const missing: number[] = [];
  const twice: number[] = [];
  for (let seq = 1; seq <= n; seq++) {
    if (except.has(seq)) continue;
    const count = perSeq.get(seq) ?? 0;
    if (count === 0) missing.push(seq);
    if (count > 1) twice.push(seq);
  }
  const stray = [...perSeq.keys()].filter((seq) => seq > n || except.has(seq));
  return { missing, twice, stray };
}

/** The runs of a chain from its first, following each continue-as-new: run ID and history length of each. */
export async function chainRuns(client: Client, workflowId: string, firstRunId: string): Promise<Array<{ runId: string; events: number; continuedAsNew: boolean }>> {
  const runs: Array<{ runId: string; events: number; continuedAsNew: boolean }> = [];
  for (let runId: string | undefined = firstRunId; runId; ) {
    const history: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>> = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    const next: string | undefined = events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    runs.push({ runId, events: events.length, continuedAsNew: next !== undefined });
    runId = next ?? undefined;
  }
  return runs;
}
