/**
 * The messages of a task runtime: its signals (pause, resume, cancel; parsed strictly, a malformed one is refused
 * and audited while the runtime carries on), its updates (setParallelism, extendBudget, with synchronous validators
 * whose refusal names the field), its progress query, the plain-JSON state a run hands to the next one
 * (continue-as-new) and stores as its checkpoint in PostgreSQL, and its result. Bundle-safe.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { DURATION_PATTERN, durationToMs } from '../duration';
import { MAX_BUDGET_MS, MAX_PARALLEL_BATCHES } from './input';

/** Who sent a control signal, and why (both optional, both short). */
export const controlSignalSchema = z
  .object({
    by: z.string().min(1).max(128).optional(),
    reason: z.string().max(500).optional(),
  })
  .strict();
export type ControlSignal = z.output<typeof controlSignalSchema>;

/** Stop starting batches (the ones in flight finish), record a checkpoint, and wait for `resume`. */
export const pauseSignal = defineSignal<[ControlSignal?]>('pause');
export const resumeSignal = defineSignal<[ControlSignal?]>('resume');
/** Stop gracefully: the batches in flight finish, a checkpoint is recorded, the runtime ends as `cancelled`. */
export const cancelSignal = defineSignal<[ControlSignal?]>('cancel');

export interface SetParallelismRequest {
  parallelism: number;
  by?: string;
}
export interface ExtendBudgetRequest {
  /** A duration such as "6h". */
  by: string;
  requestedBy?: string;
}
export interface BudgetExtended {
  deadline: string;
  budgetMs: number;
}

/** How many batches may run at once from now on (1 … 64); answers the previous value. */
export const setParallelismUpdate = defineUpdate<{ previous: number; parallelism: number }, [SetParallelismRequest]>('setParallelism');
/** Adds running time to the budget; answers the new deadline. */
export const extendBudgetUpdate = defineUpdate<BudgetExtended, [ExtendBudgetRequest]>('extendBudget');

/** Why a setParallelism request is refused, or undefined when it is acceptable. */
export function parallelismProblem(request: unknown): string | undefined {
  const value = (request as { parallelism?: unknown } | null)?.parallelism;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PARALLEL_BATCHES) {
    return `parallelism: must be a whole number from 1 to ${MAX_PARALLEL_BATCHES} (got ${JSON.stringify(value)})`;
  }
  return undefined;
}

/** Why an extendBudget request is refused given the budget so far, or undefined when it is acceptable. */
export function extensionProblem(request: unknown, budgetMs: number): string | undefined {
  const by = (request as { by?: unknown } | null)?.by;
  if (typeof by !== 'string' || !DURATION_PATTERN.test(by) || durationToMs(by) <= 0) {
    return `by: must be a duration longer than zero, e.g. "6h" (got ${JSON.stringify(by)})`;
  }
  if (budgetMs + durationToMs(by) > MAX_BUDGET_MS) return `by: the budget would exceed 30d in total (it is ${Math.round(budgetMs / 3_600_000)}h now)`;
  return undefined;
}

export const TASK_RUNTIME_STAGES = ['starting', 'running', 'paused', 'handing-over', 'stopping', 'finished'] as const;
export type TaskRuntimeStage = (typeof TASK_RUNTIME_STAGES)[number];

export const TASK_RUNTIME_OUTCOMES = ['completed', 'cancelled', 'deadline_reached', 'failed'] as const;
export type TaskRuntimeOutcome = (typeof TASK_RUNTIME_OUTCOMES)[number];

/**
 * What one run of the chain hands to the next, and what a checkpoint in PostgreSQL holds: plain JSON. `cursor` is the
 * last item (seq) up to which every item is done; a hand-over happens with no batch in flight, so nothing past it is.
 */
export interface TaskRuntimeState {
  chainIndex: number;
  cursor: number;
  processed: number;
  deadLettered: number;
  batches: number;
  paused: boolean;
  pausedBy?: string;
  cancelRequested: boolean;
  parallelism: number;
  /** Running time allowed so far (the input's budget plus extensions). */
  budgetMs: number;
  /** Running time spent so far (paused time excluded), up to the last hand-over. */
  spentMs: number;
  /** When the first run of this session started (ISO): the rate's origin. */
  sessionStartedAt: string;
  /** Items done when the session started (a resumed runtime starts with its checkpoint's). */
  doneAtSessionStart: number;
  /** Paused time in this session, ms. */
  pausedMs: number;
  /** The audit entries' sequence number: keys stay unique across the chain. */
  auditSeq: number;
  /**
   * Blocks past the cursor whose batch was split (some items effected under sub-batch keys): scheduled again (by a
   * later run, or a session resumed from the database), such a block is settled from the database item by item,
   * never re-run whole. A session resumed from the database adds every block past its checkpoint that holds a fence
   * (the terminated run may have split it without a checkpoint saying so). Dropped once the cursor passes the block.
   */
  splitBlocks?: number[];
}

/** The progress query's answer, and the line the Web UI's current details show. */
export interface TaskRuntimeProgress {
  workflowId: string;
  tenantId: string;
  taskId: string;
  stage: TaskRuntimeStage;
  outcome?: TaskRuntimeOutcome;
  reason?: string;
  done: number;
  processed: number;
  deadLettered: number;
  /** Items known so far (the table's count, or the generator's N). */
  total: number;
  batches: number;
  inFlight: number;
  parallelism: number;
  /** Items per second over the session's running time. */
  ratePerSecond: number;
  /** Seconds to the end at that rate (undefined until there is a rate). */
  etaSeconds?: number;
  chainIndex: number;
  paused: boolean;
  /** When the budget runs out at this pace (ISO); moves on while paused. */
  deadline: string;
  budgetMs: number;
  /** Events in the current run's history, and where it hands over. */
  historyLength: number;
  handOverAtEvents: number;
}

export const taskRuntimeProgressQuery = defineQuery<TaskRuntimeProgress>('progress');

export interface TaskRuntimeResult extends TaskRuntimeProgress {
  outcome: TaskRuntimeOutcome;
}

/** "1,234/10,000 (12.3%) · 41.2/s · ETA 3m 34s · run #3 · deadline 2026-…" : the status line, CLI and Web UI alike. */
export function progressLine(progress: TaskRuntimeProgress): string {
  const pct = progress.total > 0 ? ` (${((100 * progress.done) / progress.total).toFixed(1)}%)` : '';
  const parts = [
    `${progress.stage}${progress.outcome ? ` ${progress.outcome}` : ''}`,
    `${progress.done.toLocaleString('en-US')}/${progress.total.toLocaleString('en-US')}${pct}`,
    `${progress.ratePerSecond.toFixed(1)}/s`,
    `ETA ${progress.etaSeconds === undefined ? '?' : formatSeconds(progress.etaSeconds)}`,
    `${progress.inFlight}/${progress.parallelism} batches`,
    `run #${progress.chainIndex}`,
    `dead letters ${progress.deadLettered}`,
    progress.paused ? 'paused' : `deadline ${progress.deadline}`,
  ];
  return parts.join(' · ');
}

/** 3725 → "1h 2m 5s". */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m ${s % 60}s` : m > 0 ? `${m}m ${s % 60}s` : `${s % 60}s`;
}

/** The environment a batch's effects and fence are keyed by: (workflow, `runtime`, `block-<n>`). */
export const TASK_RUNTIME_ENVIRONMENT = 'runtime';

/** The block of item `seq` (1-based): block n holds items n·size+1 … (n+1)·size. */
export function blockOf(seq: number, size: number): number {
  return Math.floor((seq - 1) / size);
}

/**
 * The task id a batch's effects and fence are keyed by: `block-<n>` for block n (items n·size+1 … (n+1)·size), the
 * same whichever run schedules it, and `block-<n>+<offset>` for a sub-batch of the block's items from its index
 * `offset` on (a failed batch is split to find the items that fail). A capability numbers its effects by place in
 * `items`, so effect `i` under `block-<n>+<offset>` is the block's item `offset + i` under every key: a key that is
 * used again always means the same items.
 */
export const blockTaskId = (block: number, offset = 0): string => (offset === 0 ? `block-${block}` : `block-${block}+${offset}`);

/** One work item as a batch's capability receives it in `input.items`. */
export interface WorkItem {
  seq: number;
  key: string;
  payload: unknown;
}
