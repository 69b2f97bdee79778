import { CancellationScope, condition, workflowInfo } from '@temporalio/workflow';

/** Where an audit entry comes from, as `ados audit` links it (README, "Audit"). */
export interface AuditEntryKey {
  workflowId: string;
  tenantId: string;
  auditKey: string;
  event: string;
  /** The Temporal run that wrote the entry (a continue-as-new starts another). */
  workflowRunId: string;
  /**
   * workflowInfo().historyLength when the entry was made: the id of the WorkflowTaskStarted event of the workflow
   * task whose code made it. The entry's own command (an activity or a marker) comes after that task completes, so
   * its event id is not known to the workflow; the task's is, and the same on replay.
   */
  historyEventId: number;
}

/**
 * Numbers a workflow's audit entries. The sequence is part of workflow state, so a replay or a
 * retried activity produces the same key and the database writes each entry once.
 */
export class AuditTrail {
  private seq = 0;

  constructor(readonly tenantId: string) {}

  next(event: string): AuditEntryKey {
    this.seq += 1;
    const info = workflowInfo();
    return {
      workflowId: info.workflowId,
      tenantId: this.tenantId,
      auditKey: `${String(this.seq).padStart(5, '0')}:${event}`,
      event,
      workflowRunId: info.runId,
      historyEventId: info.historyLength,
    };
  }
}

/**
 * Resolves once the current activation has run everything it can: the SDK evaluates blocked conditions only after
 * the activation's microtasks have drained, so a condition that is false when first asked and true afterwards
 * resolves then. Deterministic; it records nothing in the history.
 */
export function afterActivation(): Promise<void> {
  let asked = false;
  // Not cancellable: a cancelled run still writes what it recorded.
  return CancellationScope.nonCancellable(() =>
    condition(() => {
      const ready = asked;
      asked = true;
      return ready;
    }),
  );
}

/**
 * Buffers audit entries and writes them in batches through one activity at a time, so that a run's per-task audit
 * stays off its tasks' critical path: a task starts without waiting for its "running" entry to be written, and its
 * dependents start without waiting for its "succeeded" entry. Nothing is lost: the entries are workflow state (the
 * batch is in the history as the activity's input), their keys are numbered when they happen (AuditTrail), and the
 * run flushes before every point that must see them written (the approval gate, the human rung, the end of the run).
 *
 * Batches go out in order, one in flight at a time; entries pushed in the same activation share a batch: a batch
 * goes out when `defer` resolves, in a workflow afterActivation (once the activation has done everything it can,
 * started the tasks that became ready and pushed their entries; before the batch it would otherwise have
 * sent half of them, and the rest right after as a second write).
 */
export class EventSink<E> {
  private pending: E[] = [];
  private inFlight?: Promise<void>;
  private scheduled = false;
  private failure?: unknown;
  /** A take is waiting for the batch in flight: nothing more is sent. */
  private taking = false;

  constructor(
    private readonly write: (batch: E[]) => Promise<unknown>,
    private readonly maxBatch = 200,
    private readonly defer: () => Promise<void> = () => Promise.resolve(),
  ) {}

  push(event: E): void {
    this.pending.push(event);
    this.schedulePump();
  }

  /**
   * Waits for the batch in flight, then hands over every entry not written yet and forgets them: for a write that
   * records them together with something else, in one transaction.
   */
  async take(): Promise<E[]> {
    this.taking = true;
    try {
      while (this.inFlight) await this.inFlight;
      if (this.failure !== undefined) throw this.failure;
      return this.pending.splice(0);
    } finally {
      this.taking = false;
      this.schedulePump();
    }
  }

  /** Resolves once every entry pushed so far is written. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      this.pump();
      if (!this.inFlight) return;
      await this.inFlight;
    }
  }

  private schedulePump(): void {
    if (this.scheduled || this.inFlight || this.pending.length === 0) return;
    this.scheduled = true;
    void this.defer().then(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.inFlight || this.taking || this.pending.length === 0 || this.failure !== undefined) return;
    const batch = this.pending.splice(0, this.maxBatch);
    this.inFlight = this.write(batch).then(
      () => {
        this.inFlight = undefined;
        this.schedulePump();
      },
      (error: unknown) => {
        // Control activities retry until the database answers; only a cancellation gets here. flush() rethrows it.
        this.inFlight = undefined;
        this.failure = error;
      },
    );
  }
}
