/**
 * The task runtime's control activities (local activities of the control worker that runs the workflow): open a run
 * of the chain, claim a batch's items by range, record checkpoints (with the audit entries gathered since the last
 * one), settle a failed batch's range (fence its keys off, read what is still open, dead-letter a single failing
 * item), record the end. Each is idempotent, so a retry writes once.
 */
import type { TaskRuntimeInput } from '../../shared/contract/task-runtime/input';
import { blockOf, type TaskRuntimeOutcome, type TaskRuntimeState, type WorkItem } from '../../shared/contract/task-runtime/messages';
import type { Db } from '../../shared/node/db';
import {
  fencedBlocksOf,
  itemCount,
  latestRuntimeCheckpoint,
  readWorkItems,
  saveRuntimeCheckpoint,
  settleBlockRange,
  type SettledRange,
  type SettleRequest,
  type TaskRef,
} from '../../shared/node/task-runtime/store';
import { appendAudit, finishRun, insertRun, type AuditEntry } from '../common/run-records';

export interface OpenTaskRuntimeRequest {
  workflowId: string;
  input: TaskRuntimeInput;
}

export interface OpenedTaskRuntime {
  /** The table's items so far (0 for a generator source). */
  itemCount: number;
  /** The latest checkpoint in PostgreSQL, for a runtime asked to resume from it. */
  checkpoint?: { chainIndex: number; state: TaskRuntimeState };
  /**
   * Blocks past that checkpoint's cursor that an attempt or a settle fenced: the run settles them from the database
   * rather than running them whole (a run terminated by hand may have split them, with sub-batches not yet fenced).
   */
  splitBlocks?: number[];
}

export interface RuntimeCheckpointRecord {
  workflowId: string;
  runId: string;
  reason: string;
  state: TaskRuntimeState;
  input: TaskRuntimeInput;
  audit: AuditEntry[];
}

export interface RuntimeFinishRecord extends RuntimeCheckpointRecord {
  outcome: TaskRuntimeOutcome;
  result: unknown;
}

const taskOf = (input: Pick<TaskRuntimeInput, 'tenantId' | 'taskId'>): TaskRef => ({ tenantId: input.tenantId, taskId: input.taskId });

export function createTaskRuntimeControlActivities(db: Db) {
  return {
    /** Records the runtime (its `runs` row, `running` again when resumed) and reads what the run starts from. */
    async openTaskRuntime(request: OpenTaskRuntimeRequest): Promise<OpenedTaskRuntime> {
      const { input, workflowId } = request;
      await insertRun(db, { workflowId, tenantId: input.tenantId, runId: input.taskId, kind: 'task-runtime', requestedBy: input.requestedBy, input });
      await db.updateTable('runs').set({ status: 'running', updated_at: new Date() }).where('workflow_id', '=', workflowId).execute();
      const checkpoint = input.resume ? await latestRuntimeCheckpoint(db, taskOf(input)) : undefined;
      return {
        itemCount: input.source.kind === 'table' ? await itemCount(db, taskOf(input)) : input.source.items,
        ...(checkpoint
          ? {
              checkpoint: { chainIndex: checkpoint.chainIndex, state: checkpoint.state },
              splitBlocks: await fencedBlocksOf(db, workflowId, blockOf(checkpoint.state.cursor + 1, input.batchSize)),
            }
          : {}),
      };
    },

    /** A batch's items (seq `fromSeq` … `toSeq`, one range read) and the task's item count now. */
    async claimTaskRuntimeItems(request: TaskRef & { fromSeq: number; toSeq: number }): Promise<{ items: WorkItem[]; itemCount: number }> {
      const task = taskOf(request);
      return { items: await readWorkItems(db, task, request.fromSeq, request.toSeq), itemCount: await itemCount(db, task) };
    },

    /** The task's item count now (a runtime that caught up looks for items loaded since). */
    async countTaskRuntimeItems(request: TaskRef): Promise<number> {
      return itemCount(db, taskOf(request));
    },

    /** Upserts the checkpoint of this run of the chain and appends the audit entries gathered since the last one. */
    async recordTaskRuntimeCheckpoint(record: RuntimeCheckpointRecord): Promise<void> {
      await saveRuntimeCheckpoint(db, taskOf(record.input), record);
      await appendAudit(db, record.audit);
    },

    /** Fences off the keys of a failed sub-batch and answers which items of its range are still open (or dead letters). */
    async settleTaskRuntimeRange(request: TaskRef & SettleRequest): Promise<SettledRange> {
      return settleBlockRange(db, taskOf(request), request);
    },

    /** The last checkpoint, the audit, and the run's status and result. */
    async finishTaskRuntime(record: RuntimeFinishRecord): Promise<void> {
      await saveRuntimeCheckpoint(db, taskOf(record.input), record);
      await appendAudit(db, record.audit);
      await finishRun(db, record.workflowId, record.outcome, record.result);
    },
  };
}

export type TaskRuntimeControlActivities = ReturnType<typeof createTaskRuntimeControlActivities>;
