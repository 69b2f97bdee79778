import { workflowInfo } from '@temporalio/workflow';

/**
 * Numbers a workflow's audit entries. The sequence is part of workflow state, so a replay or a
 * retried activity produces the same key and the database writes each entry once.
 */
export class AuditTrail {
  private seq = 0;

  constructor(readonly tenantId: string) {}

  next(event: string): { workflowId: string; tenantId: string; auditKey: string; event: string } {
    this.seq += 1;
    return {
      workflowId: workflowInfo().workflowId,
      tenantId: this.tenantId,
      auditKey: `${String(this.seq).padStart(5, '0')}:${event}`,
      event,
    };
  }
}

/**
 * Buffers audit entries and writes them in batches through one activity at a time, so that a run's per-task audit
 * stays off its tasks' critical path: a task starts without waiting for its "running" entry to be written, and its
 * dependents start without waiting for its "succeeded" entry. Nothing is lost: the entries are workflow state (the
 * batch is in the history as the activity's input), their keys are numbered when they happen (AuditTrail), and the
 * run flushes before every point that must see them written (promotion, the human rung, the end of the run).
 *
 * Batches go out in order, one in flight at a time; entries pushed in the same activation share a batch.
 */
export class EventSink<E> {
  private pending: E[] = [];
  private inFlight?: Promise<void>;
  private scheduled = false;
  private failure?: unknown;

  constructor(
    private readonly write: (batch: E[]) => Promise<unknown>,
    private readonly maxBatch = 200,
  ) {}

  push(event: E): void {
    this.pending.push(event);
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    // Deterministic in a workflow: the microtask runs after the current activation's synchronous work.
    void Promise.resolve().then(() => {
      this.scheduled = false;
      this.pump();
    });
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

  private pump(): void {
    if (this.inFlight || this.pending.length === 0 || this.failure !== undefined) return;
    const batch = this.pending.splice(0, this.maxBatch);
    this.inFlight = this.write(batch).then(
      () => {
        this.inFlight = undefined;
        this.pump();
      },
      (error: unknown) => {
        // Control activities retry until the database answers; only a cancellation gets here. flush() rethrows it.
        this.inFlight = undefined;
        this.failure = error;
      },
    );
  }
}
