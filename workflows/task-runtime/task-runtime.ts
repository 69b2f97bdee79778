import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CapabilityActivity } from '../../activities/capability-activities';
import type { AuditEntry } from '../../activities/common/run-records';
import type { TaskRuntimeControlActivities } from '../../activities/task-runtime/control-activities';
import type { CapabilityRequest } from '../../shared/contract/delivery/capability-io';
import { durationToMs } from '../../shared/contract/duration';
import { AdosStage } from '../../shared/contract/search-attributes';
import { batchCapabilitySpec, validateTaskRuntimeInput, type TaskRuntimeInput, type TaskRuntimeRequest } from '../../shared/contract/task-runtime/input';
import {
  blockOf,
  blockTaskId,
  cancelSignal,
  controlSignalSchema,
  extendBudgetUpdate,
  extensionProblem,
  parallelismProblem,
  pauseSignal,
  progressLine,
  resumeSignal,
  setParallelismUpdate,
  TASK_RUNTIME_ENVIRONMENT,
  taskRuntimeProgressQuery,
  type ControlSignal,
  type TaskRuntimeOutcome,
  type TaskRuntimeProgress,
  type TaskRuntimeResult,
  type TaskRuntimeStage,
  type TaskRuntimeState,
  type WorkItem,
} from '../../shared/contract/task-runtime/messages';
import { formatIssues } from '../../shared/contract/validation';
import { capabilityActivityOptions } from '../common/capability-activity';
import { AuditTrail } from '../common/audit-trail';
import { runTaskQueuePrefix } from '../common/task-queue';
import { fieldOf, recordedText } from '../common/untrusted';
import { commitCompleted, generationBase, handOverReserve, rateAndEta, subBatches, type CompletedBatch, type SubBatch } from './runtime-rules';

/** Failures of a batch that a retry cannot fix: the policy (dead-letter or stop) applies at once. */
const NON_RETRYABLE_BATCH_ERRORS = ['InvalidCapabilityInput', 'PolicyRefused', 'InvalidCapabilityOutput'] as const;

type StopReason = TaskRuntimeOutcome | 'hand-over';

/** A batch's block: its number, its first item's seq, and its items from there (what every sub-batch slices). */
interface BlockBatch {
  block: number;
  blockStart: number;
  items: WorkItem[];
}

/**
 * A task runtime: keeps an autonomous task going for a day or more. Batches of work items are processed by the
 * input's capability, up to `parallelism` at once, started at most once per `pacing`; each batch is an activity on the
 * capability's queue that heartbeats checkpoints and writes fenced effects, keyed by its block so that any run of the
 * chain that schedules it again redoes nothing. The history stays bounded: the run hands over (continue-as-new,
 * plain-JSON state) when Temporal suggests it or its events near `handOverAtEvents`, with no batch in flight and
 * every handler finished. Pause, resume and cancel are signals; setParallelism and extendBudget are updates with
 * synchronous validators; `progress` is the query, and the Web UI's current details show the same line.
 */
export async function taskRuntime(raw: TaskRuntimeRequest, carried?: TaskRuntimeState): Promise<TaskRuntimeResult> {
  const checked = validateTaskRuntimeInput(raw);
  if (!checked.ok) {
    throw ApplicationFailure.create({
      type: 'InvalidTaskRuntimeInput',
      message: `invalid task runtime input:\n${formatIssues(checked.issues)}`,
      details: [checked.issues],
      nonRetryable: true,
    });
  }
  return new TaskRuntime(checked.value, carried).run();
}

class TaskRuntime {
  private readonly workflowId = workflowInfo().workflowId;
  private readonly prefix = runTaskQueuePrefix();
  private readonly records = proxyLocalActivities<TaskRuntimeControlActivities>({
    startToCloseTimeout: '60s',
    retry: { initialInterval: '1s', maximumInterval: '30s' },
  });
  private readonly audit: AuditTrail;
  private readonly pendingAudit: AuditEntry[] = [];

  private state!: TaskRuntimeState;
  private stage: TaskRuntimeStage = 'starting';
  private outcome?: TaskRuntimeOutcome;
  private reason?: string;
  private total = 0;
  /** Items up to this seq are scheduled (in flight or done). */
  private scheduledThrough = 0;
  /** Blocks in flight. */
  private readonly inFlight = new Set<number>();
  /** Finished batches past the cursor, by their first seq, until the ones before them finish. */
  private readonly completed = new Map<number, CompletedBatch>();
  /** Live counts, including batches finished past the cursor. */
  private processedLive = 0;
  private deadLetteredLive = 0;
  private batchesLive = 0;
  /** Fencing generations this run has handed out (batches, sub-batches and settled fences). */
  private generations = 0;
  /** A failed batch this run had no history left to settle: the next run of the chain settles it. */
  private deferred = false;
  private nextStartAt = 0;
  /** When running time last started counting (undefined while paused). */
  private activeSince?: number;
  private pausedAt?: number;
  private lastCheckpointCursor = 0;
  private failure?: string;
  /** Bumped by every change the main loop waits for. */
  private version = 0;
  private deadlineScope?: CancellationScope;

  constructor(
    private readonly input: TaskRuntimeInput,
    private readonly carried: TaskRuntimeState | undefined,
  ) {
    this.audit = new AuditTrail(input.tenantId);
  }

  async run(): Promise<TaskRuntimeResult> {
    await this.open();
    this.installHandlers();
    this.setStage(this.state.paused ? 'paused' : 'running');
    if (!this.state.paused) this.startClock();
    const stop = await this.loop();
    return this.finish(stop);
  }

  /** The state this run starts from: carried by continue-as-new, the database's checkpoint, or a fresh start. */
  private async open(): Promise<void> {
    const opened = await this.records.openTaskRuntime({ workflowId: this.workflowId, input: this.input });
    this.total = opened.itemCount;
    const now = Date.now();
    const fresh: TaskRuntimeState = {
      chainIndex: 0,
      cursor: 0,
      processed: 0,
      deadLettered: 0,
      batches: 0,
      paused: false,
      cancelRequested: false,
      parallelism: this.input.maxParallel,
      budgetMs: durationToMs(this.input.budget),
      spentMs: 0,
      sessionStartedAt: new Date(now).toISOString(),
      doneAtSessionStart: 0,
      pausedMs: 0,
      auditSeq: 0,
    };
    if (this.carried) {
      this.state = { ...this.carried };
    } else if (this.input.resume) {
      const stored = opened.checkpoint;
      if (!stored) {
        throw ApplicationFailure.create({
          type: 'NoCheckpoint',
          message: `task ${this.input.taskId} has no checkpoint in PostgreSQL to resume from; start it with \`ados runtime start\``,
          nonRetryable: true,
        });
      }
      // A new session from the checkpoint: a fresh budget, unpaused, the chain numbered on past every earlier run.
      const done = stored.state.processed + stored.state.deadLettered;
      const splitBlocks = [...new Set([...(stored.state.splitBlocks ?? []), ...(opened.splitBlocks ?? [])])].sort((a, b) => a - b);
      this.state = { ...fresh, ...stored.state, chainIndex: stored.chainIndex + 1, paused: false, cancelRequested: false, budgetMs: fresh.budgetMs, spentMs: 0, sessionStartedAt: fresh.sessionStartedAt, doneAtSessionStart: done, pausedMs: 0, ...(splitBlocks.length > 0 ? { splitBlocks } : {}) };
      this.record('resumed-from-database', { fromChainIndex: stored.chainIndex, cursor: stored.state.cursor });
    } else {
      this.state = fresh;
      this.record('started', { source: this.input.source, capability: this.input.capability, batchSize: this.input.batchSize, maxParallel: this.input.maxParallel, budget: this.input.budget });
    }
    this.scheduledThrough = this.state.cursor;
    this.lastCheckpointCursor = this.state.cursor;
    this.processedLive = this.state.processed;
    this.deadLetteredLive = this.state.deadLettered;
    this.batchesLive = this.state.batches;
    if (this.state.paused) this.pausedAt = now;
  }

  private installHandlers(): void {
    setHandler(pauseSignal, (payload) => this.onControl('pause', payload, () => this.pause()));
    setHandler(resumeSignal, (payload) => this.onControl('resume', payload, () => this.resume()));
    setHandler(cancelSignal, (payload) =>
      this.onControl('cancel', payload, () => {
        this.state.cancelRequested = true;
      }),
    );
    setHandler(
      setParallelismUpdate,
      (request) => {
        const previous = this.state.parallelism;
        this.state.parallelism = request.parallelism;
        this.record('parallelism-set', { previous, parallelism: request.parallelism, by: request.by });
        this.changed();
        return { previous, parallelism: request.parallelism };
      },
      {
        validator: (request) => {
          this.refuseWhenStopping();
          const problem = parallelismProblem(request);
          if (problem) throw new Error(problem);
        },
      },
    );
    setHandler(
      extendBudgetUpdate,
      (request) => {
        const by = durationToMs(request.by);
        this.state.budgetMs += by;
        this.record('budget-extended', { by: request.by, budgetMs: this.state.budgetMs, requestedBy: request.requestedBy });
        if (this.activeSince !== undefined) this.armDeadline();
        this.changed();
        return { deadline: this.deadlineIso(), budgetMs: this.state.budgetMs };
      },
      {
        validator: (request) => {
          this.refuseWhenStopping();
          const problem = extensionProblem(request, this.state.budgetMs);
          if (problem) throw new Error(problem);
        },
      },
    );
    setHandler(taskRuntimeProgressQuery, () => this.progress());
  }

  /** A control signal: parsed strictly; a malformed one is refused and audited, and the runtime carries on. */
  private onControl(signal: string, payload: unknown, apply: () => void): void {
    const parsed = controlSignalSchema.safeParse(payload ?? {});
    if (!parsed.success) {
      log.warn('task runtime: signal refused', { signal, issue: parsed.error.issues[0]?.message });
      this.record('signal-refused', {
        signal,
        issue: `${parsed.error.issues[0]?.path.join('.') || '(root)'}: ${parsed.error.issues[0]?.message}`,
        by: recordedText(fieldOf(payload, 'by')),
      });
      return;
    }
    const message: ControlSignal = parsed.data;
    if (this.stage === 'finished') return;
    apply();
    this.record(`${signal}-requested`, { by: message.by, reason: message.reason });
    this.changed();
  }

  private refuseWhenStopping(): void {
    if (this.stage === 'stopping' || this.stage === 'finished') {
      throw new Error(`the runtime is ${this.stage}${this.outcome ? ` (${this.outcome})` : ''}; it takes no more changes (\`ados runtime resume\` continues it from its checkpoint)`);
    }
  }

  private pause(): void {
    if (this.state.paused) return;
    this.state.paused = true;
    this.stopClock();
  }

  private resume(): void {
    if (!this.state.paused) return;
    this.state.paused = false;
    this.startClock();
  }

  /** Running time counts from now: the deadline timer is armed for what is left of the budget. */
  private startClock(): void {
    const now = Date.now();
    if (this.pausedAt !== undefined) this.state.pausedMs += now - this.pausedAt;
    this.pausedAt = undefined;
    this.activeSince = now;
    this.armDeadline();
  }

  private stopClock(): void {
    const now = Date.now();
    this.state.spentMs = this.spentMs();
    this.activeSince = undefined;
    this.pausedAt = now;
    this.deadlineScope?.cancel();
    this.deadlineScope = undefined;
  }

  private spentMs(): number {
    return this.state.spentMs + (this.activeSince === undefined ? 0 : Date.now() - this.activeSince);
  }

  private remainingMs(): number {
    return this.state.budgetMs - this.spentMs();
  }

  private deadlineIso(): string {
    return new Date(Date.now() + Math.max(0, this.remainingMs())).toISOString();
  }

  /** One timer per run (and per pause, resume or extension) wakes the loop when the budget is spent. */
  private armDeadline(): void {
    this.deadlineScope?.cancel();
    const scope = new CancellationScope();
    this.deadlineScope = scope;
    const remaining = Math.max(1, this.remainingMs());
    scope
      .run(() => sleep(remaining, { summary: `budget deadline (${this.deadlineIso()})` }))
      .then(
        () => this.changed(),
        (error: unknown) => {
          if (!isCancellation(error)) throw error;
        },
      );
  }

  private changed(): void {
    this.version += 1;
  }

  private async waitForChange(timeoutMs?: number): Promise<void> {
    const seen = this.version;
    if (timeoutMs === undefined) await condition(() => this.version !== seen);
    else await condition(() => this.version !== seen, timeoutMs);
  }

  /** Starts batches while it may; returns why it stops (after the batches in flight have finished). */
  private async loop(): Promise<StopReason> {
    for (;;) {
      setCurrentDetails(progressLine(this.progress()));
      if (this.checkpointDue()) await this.checkpoint('interval');
      const stop = this.stopReason();
      if (stop) {
        this.setStage(stop === 'hand-over' ? 'handing-over' : 'stopping');
        await condition(() => this.inFlight.size === 0);
        // A cancel or the deadline that came while handing over ends the runtime here rather than in the next run.
        if (stop === 'hand-over' && (this.state.cancelRequested || this.remainingMs() <= 0)) return this.state.cancelRequested ? 'cancelled' : 'deadline_reached';
        return stop;
      }
      if (this.state.paused) {
        await this.whilePaused();
        continue;
      }
      if (this.inFlight.size < this.state.parallelism && this.hasMore()) {
        const wait = this.nextStartAt - Date.now();
        if (wait <= 0) this.startBatch();
        else await this.waitForChange(wait);
        continue;
      }
      if (this.inFlight.size === 0 && !this.hasMore()) {
        if (this.input.source.kind === 'table') {
          this.total = await this.records.countTaskRuntimeItems({ tenantId: this.input.tenantId, taskId: this.input.taskId });
          if (this.hasMore()) continue;
        }
        return 'completed';
      }
      await this.waitForChange();
    }
  }

  private stopReason(): StopReason | undefined {
    if (this.state.cancelRequested) return 'cancelled';
    if (this.failure !== undefined) return 'failed';
    if (this.remainingMs() <= 0) return 'deadline_reached';
    if (this.deferred || this.historySpent()) return 'hand-over';
    return undefined;
  }

  /** Whether this run's history has reached its hand-over point (Temporal's suggestion, or the event threshold). */
  private historySpent(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength + handOverReserve(this.state.parallelism) >= this.input.handOverAtEvents;
  }

  private nextGeneration(): number {
    this.generations += 1;
    return generationBase(this.state.chainIndex) + this.generations;
  }

  /** Paused: the batches in flight finish, a checkpoint is recorded, then it waits for resume (or cancel). */
  private async whilePaused(): Promise<void> {
    this.setStage('paused');
    await condition(() => this.inFlight.size === 0);
    await this.checkpoint('paused');
    await condition(() => !this.state.paused || this.state.cancelRequested);
    if (!this.state.paused) this.setStage('running');
  }

  /** Items past what is scheduled, and their block not already in flight (a partial block is extended later). */
  private hasMore(): boolean {
    return this.scheduledThrough < this.total && !this.inFlight.has(blockOf(this.scheduledThrough + 1, this.input.batchSize));
  }

  private startBatch(): void {
    const size = this.input.batchSize;
    const fromSeq = this.scheduledThrough + 1;
    const block = blockOf(fromSeq, size);
    const toSeq = Math.min((block + 1) * size, this.total);
    this.scheduledThrough = toSeq;
    const generation = this.nextGeneration();
    this.inFlight.add(block);
    this.nextStartAt = Date.now() + (this.input.pacing ? durationToMs(this.input.pacing) : 0);
    void this.runBatch(block, fromSeq, toSeq, generation).finally(() => {
      this.inFlight.delete(block);
      this.changed();
    });
  }

  /**
   * One batch: the items of its block from the block's start (so a capability numbers each item the same whichever
   * run schedules it; the ones before `fromSeq` are done and its checkpoint skips them), processed by the capability.
   * A batch that fails past its retries stops the runtime (`stop`) or is settled item by item (`dead-letter`): only
   * the items that fail past their own retries are dead letters. A block split before (by an earlier run, or a run
   * terminated by hand) is settled from the database at once, never run whole again.
   */
  private async runBatch(block: number, fromSeq: number, toSeq: number, generation: number): Promise<void> {
    const { input } = this;
    const blockStart = block * input.batchSize + 1;
    const batch: BlockBatch = { block, blockStart, items: await this.itemsOf(blockStart, toSeq) };
    let deadLettered: number | undefined;
    if (this.state.splitBlocks?.includes(block)) {
      deadLettered = await this.settle(batch, { fromSeq, toSeq });
    } else {
      const error = await this.process(batch, { fromSeq: blockStart, toSeq }, generation);
      if (error === undefined) {
        deadLettered = 0;
      } else if (input.onFailure.then === 'stop') {
        this.failure = `batch of items ${fromSeq}–${toSeq} failed after ${input.onFailure.retries} retries: ${error}`;
        this.record('batch-failed', { block, fromSeq, toSeq, error, policy: 'stop' });
        return;
      } else {
        this.state.splitBlocks = [...(this.state.splitBlocks ?? []), block];
        deadLettered = await this.settle(batch, { fromSeq, toSeq }, { offset: 0, error });
      }
    }
    if (deadLettered === undefined) {
      this.deferred = true;
      this.record('batch-deferred', { block, fromSeq, toSeq });
      return;
    }
    const outcome: CompletedBatch = { fromSeq, toSeq, processed: toSeq - fromSeq + 1 - deadLettered, deadLettered };
    this.processedLive += outcome.processed;
    this.deadLetteredLive += outcome.deadLettered;
    this.batchesLive += 1;
    this.completed.set(fromSeq, outcome);
    const committed = commitCompleted(this.state, this.completed);
    Object.assign(this.state, committed);
    const splitBlocks = this.state.splitBlocks?.filter((split) => (split + 1) * input.batchSize > this.state.cursor);
    if (splitBlocks?.length) this.state.splitBlocks = splitBlocks;
    else delete this.state.splitBlocks;
  }

  /**
   * Runs items `range` of a block as one activity of the capability, keyed by the block and the range's offset in it
   * (effect `i` of the activity is the block's item `offset + i`). Answers why it failed past its retries, if it did.
   */
  private async process(batch: BlockBatch, range: SubBatch, generation: number): Promise<string | undefined> {
    const { input } = this;
    const offset = range.fromSeq - batch.blockStart;
    const request: CapabilityRequest = {
      tenantId: input.tenantId,
      workflowId: this.workflowId,
      runId: input.taskId,
      taskId: blockTaskId(batch.block, offset),
      // Effects and the fence are keyed by (workflow, environment, task); a runtime's batches are not per environment.
      environment: TASK_RUNTIME_ENVIRONMENT as CapabilityRequest['environment'],
      input: { ...input.capabilityInput, items: batch.items.slice(offset, range.toSeq - batch.blockStart + 1), checkpointEvery: Math.min(input.checkpointEvery, input.batchSize) },
      upstream: {},
    };
    const { options } = capabilityActivityOptions(
      input.capability,
      batchCapabilitySpec(input),
      this.prefix,
      { retry: { maximumAttempts: input.onFailure.retries + 1 } },
      NON_RETRYABLE_BATCH_ERRORS,
      `${input.capability} items ${range.fromSeq}–${range.toSeq}`,
    );
    // The activity ID is the fencing generation: it grows across the whole chain, so a batch scheduled again by a
    // later run (or a runtime resumed from the database) takes over its key's fence from any earlier attempt.
    const activities = proxyActivities<Record<string, CapabilityActivity>>({ ...options, activityId: String(generation) });
    try {
      await activities[input.capability](request);
      return undefined;
    } catch (error) {
      return error instanceof ActivityFailure && error.cause ? error.cause.message : (error as Error).message;
    }
  }

  /**
   * Settles items `range` of a block: after the sub-batch keyed at `failed.offset` failed past its retries, or (no
   * `failed`) for a split block scheduled again. Fences the keys off, reads which items are still open (no effect
   * under any key of the block, no dead letter), and runs those again in sub-batches (subBatches), settling each one
   * that fails in turn. A single item that failed past its retries is a dead letter. Answers the range's dead
   * letters, or undefined when this run's history is spent before the range is (the next run settles the block).
   */
  private async settle(batch: BlockBatch, range: SubBatch, failed?: { offset: number; error: string }): Promise<number | undefined> {
    const { input } = this;
    const single = failed !== undefined && range.fromSeq === range.toSeq;
    const settled = await this.records.settleTaskRuntimeRange({
      tenantId: input.tenantId,
      taskId: input.taskId,
      workflowId: this.workflowId,
      block: batch.block,
      blockSize: input.batchSize,
      ...range,
      seal: failed ? [failed.offset] : 'all',
      generation: this.nextGeneration(),
      ...(single ? { deadLetter: { attempts: input.onFailure.retries + 1, error: failed.error } } : {}),
    });
    if (single && settled.deadLettered.includes(range.fromSeq)) this.record('item-dead-lettered', { block: batch.block, seq: range.fromSeq, error: failed.error });
    else if (failed) this.record('batch-split', { block: batch.block, ...range, error: failed.error, open: settled.open.length });
    if (settled.open.length === 0) return settled.deadLettered.length;
    if (this.historySpent()) return undefined;
    const letters = await Promise.all(
      subBatches(settled.open, failed !== undefined).map(async (sub) => {
        const error = await this.process(batch, sub, this.nextGeneration());
        return error === undefined ? 0 : this.settle(batch, sub, { offset: sub.fromSeq - batch.blockStart, error });
      }),
    );
    return letters.some((n) => n === undefined) ? undefined : letters.reduce<number>((sum, n) => sum + (n ?? 0), settled.deadLettered.length);
  }

  private async itemsOf(fromSeq: number, toSeq: number): Promise<WorkItem[]> {
    if (this.input.source.kind === 'generator') {
      return Array.from({ length: toSeq - fromSeq + 1 }, (_, i) => ({ seq: fromSeq + i, key: `item-${fromSeq + i}`, payload: null }));
    }
    const claimed = await this.records.claimTaskRuntimeItems({ tenantId: this.input.tenantId, taskId: this.input.taskId, fromSeq, toSeq });
    this.total = Math.max(this.total, claimed.itemCount);
    return claimed.items;
  }

  private checkpointDue(): boolean {
    return this.state.cursor - this.lastCheckpointCursor >= this.input.checkpointEvery;
  }

  /** Upserts this run's checkpoint in PostgreSQL (its state as of the cursor) with the audit gathered since. */
  private async checkpoint(reason: string): Promise<void> {
    this.lastCheckpointCursor = this.state.cursor;
    await this.records.recordTaskRuntimeCheckpoint({
      workflowId: this.workflowId,
      runId: workflowInfo().runId,
      reason,
      state: this.snapshot(),
      input: this.input,
      audit: this.pendingAudit.splice(0),
    });
  }

  private snapshot(): TaskRuntimeState {
    return { ...this.state, spentMs: this.spentMs() };
  }

  private record(event: string, detail: Record<string, unknown>): void {
    const entry = this.audit.next(event);
    this.state.auditSeq += 1;
    // Keys stay unique across the chain: each run numbers its own entries, under its chain index.
    this.pendingAudit.push({ ...entry, auditKey: `${String(this.state.chainIndex).padStart(4, '0')}.${entry.auditKey}`, detail: { ...detail, chainIndex: this.state.chainIndex } });
  }

  private setStage(stage: TaskRuntimeStage): void {
    if (stage === this.stage) return;
    this.stage = stage;
    upsertSearchAttributes([{ key: AdosStage, value: stage }]);
    setCurrentDetails(progressLine(this.progress()));
  }

  private progress(): TaskRuntimeProgress {
    const info = workflowInfo();
    const done = this.processedLive + this.deadLetteredLive;
    const activeMs = Date.now() - Date.parse(this.state.sessionStartedAt) - this.state.pausedMs - (this.pausedAt !== undefined ? Date.now() - this.pausedAt : 0);
    const { ratePerSecond, etaSeconds } = rateAndEta(done - this.state.doneAtSessionStart, activeMs, this.total - done);
    return {
      workflowId: this.workflowId,
      tenantId: this.input.tenantId,
      taskId: this.input.taskId,
      stage: this.stage,
      ...(this.outcome ? { outcome: this.outcome } : {}),
      ...(this.reason ? { reason: this.reason } : {}),
      done,
      processed: this.processedLive,
      deadLettered: this.deadLetteredLive,
      total: this.total,
      batches: this.batchesLive,
      inFlight: this.inFlight.size,
      parallelism: this.state.parallelism,
      ratePerSecond,
      ...(etaSeconds !== undefined ? { etaSeconds } : {}),
      chainIndex: this.state.chainIndex,
      paused: this.state.paused,
      deadline: this.deadlineIso(),
      budgetMs: this.state.budgetMs,
      historyLength: info.historyLength,
      handOverAtEvents: this.input.handOverAtEvents,
    };
  }

  /** Hands over to the next run of the chain, or records the end and returns the result. */
  private async finish(stop: StopReason): Promise<TaskRuntimeResult> {
    if (stop === 'hand-over') {
      this.record('handed-over', { cursor: this.state.cursor, historyLength: workflowInfo().historyLength });
      // Signals and updates that arrive during the hand-over are handled before the state is taken.
      await condition(allHandlersFinished);
      const next: TaskRuntimeState = { ...this.snapshot(), chainIndex: this.state.chainIndex + 1 };
      await this.records.recordTaskRuntimeCheckpoint({
        workflowId: this.workflowId,
        runId: workflowInfo().runId,
        reason: 'hand-over',
        state: next,
        input: this.input,
        audit: this.pendingAudit.splice(0),
      });
      await condition(allHandlersFinished);
      // What came in while the checkpoint was written is in this.state too: take it again.
      return continueAsNew<typeof taskRuntime>({ ...this.input, resume: false }, { ...this.snapshot(), chainIndex: this.state.chainIndex + 1 });
    }
    this.deadlineScope?.cancel();
    this.outcome = stop;
    this.reason = stop === 'failed' ? this.failure : stop === 'cancelled' ? 'cancelled by signal' : stop === 'deadline_reached' ? `the budget of ${Math.round(this.state.budgetMs / 60_000)} min of running time is spent` : undefined;
    this.record('finished', { outcome: stop, reason: this.reason, cursor: this.state.cursor, processed: this.state.processed, deadLettered: this.state.deadLettered });
    this.setStage('finished');
    const result: TaskRuntimeResult = { ...this.progress(), outcome: stop };
    await condition(allHandlersFinished);
    await this.records.finishTaskRuntime({
      workflowId: this.workflowId,
      runId: workflowInfo().runId,
      reason: stop,
      state: this.snapshot(),
      input: this.input,
      audit: this.pendingAudit.splice(0),
      outcome: stop,
      result,
    });
    setCurrentDetails(progressLine(result));
    return result;
  }
}
