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
 * Batches go out in order, one in flight at a time; entries pushed in the same activation share a batch. Two writers:
 * `write` sends the batches that go out while the workflow goes on, and `writeAwaited` the ones a flush waits for.
 * A workflow passes an ordinary activity as `write` (a local activity in flight holds the workflow task, and with
 * it the commands that schedule the next tasks) and a local activity as `writeAwaited` (the workflow waits anyway,
 * and a local activity costs a database round trip instead of a task-queue one).
 */
export class EventSink<E> {
  private pending: E[] = [];
  private inFlight?: Promise<void>;
  private scheduled = false;
  private failure?: unknown;
  /** Flushes waiting: while there are any, every batch is one a flush waits for. */
  private flushing = 0;
  /** A take is waiting for the batch in flight: nothing more is sent. */
  private taking = false;
  /** Entries kept for the next flush or take: none goes out in the background until then. */
  private held = false;

  constructor(
    private readonly write: (batch: E[]) => Promise<unknown>,
    private readonly maxBatch = 200,
    private readonly writeAwaited: (batch: E[]) => Promise<unknown> = write,
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

  /**
   * Queues an entry and holds back every unwritten one for the next flush or take, which the caller is about to
   * make: the workflow waits for that write anyway, so a batch sent now would only make it wait for two.
   */
  keep(event: E): void {
    this.pending.push(event);
    this.held = true;
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
      this.held = false;
      return this.pending.splice(0);
    } finally {
      this.taking = false;
    }
  }

  /** Resolves once every entry pushed so far is written. */
  async flush(): Promise<void> {
    this.flushing += 1;
    try {
      for (;;) {
        if (this.failure !== undefined) throw this.failure;
        this.pump();
        if (!this.inFlight) {
          this.held = false;
          return;
        }
        await this.inFlight;
      }
    } finally {
      this.flushing -= 1;
    }
  }

  private pump(): void {
    if (this.inFlight || this.taking || this.pending.length === 0 || this.failure !== undefined) return;
    if (this.held && this.flushing === 0) return;
    const batch = this.pending.splice(0, this.maxBatch);
    const write = this.flushing > 0 ? this.writeAwaited : this.write;
    this.inFlight = write(batch).then(
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
