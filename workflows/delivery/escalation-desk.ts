import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import {
  RESOLVE_ACTIONS,
  resolveSignal,
  resolveUpdate,
  type EscalationView,
  type RecordedResolution,
  type Resolution,
  type ResolveOutcome,
} from '../../shared/contract/delivery/escalation';
import type { Environment } from '../../shared/contract/delivery/input';
import { fieldOf, recordedText } from '../common/untrusted';
import { judgeResolution, type OpenEscalation, type ResolveRulesState } from './escalation-rules';

/** What the desk needs from the run around it. */
export interface EscalationDeskOptions {
  workflowId: string;
  /** Audits one resolution, counted or not. */
  record: (resolution: RecordedResolution) => Promise<void>;
  /** Called when the first task starts waiting (true) and when the last one stops (false). */
  awaiting: (waiting: boolean) => void;
}

/** How a task's wait at the desk ended. */
export type HumanOutcome =
  | { kind: 'retry' | 'skip' | 'abort'; resolution: Resolution }
  | { kind: 'aborted'; reason: string }
  | { kind: 'expired' };

interface DeskEntry extends EscalationView {
  resolution?: Resolution;
}

/**
 * The escalation ladder's human rung: where escalated tasks wait for a person. The `resolve` signal and Update are
 * handled from the start of the run, so a resolution sent when nothing waits is answered (Update: refused by the
 * validator; signal: audited as ignored). Payloads are parsed strictly (shared/contract/delivery/escalation.ts): a
 * malformed signal is audited with the reason and never thrown.
 */
export class EscalationDesk {
  private readonly entries: DeskEntry[] = [];
  private abort?: { resolution: Resolution; environment: Environment };
  private finished = false;

  constructor(private readonly options: EscalationDeskOptions) {
    setHandler(resolveSignal, (resolution: unknown) => this.receive(resolution, 'signal').then(() => undefined));
    setHandler(resolveUpdate, (resolution: unknown) => this.receiveUpdate(resolution), {
      // Synchronous on purpose: an async validator could never reject.
      validator: (resolution: unknown) => {
        const judgement = judgeResolution(this.rulesState(), resolution);
        if (!judgement.counts) throw new Error(judgement.reason);
      },
    });
  }

  /** Set once a resolution aborted the run: the DAG starts nothing more. */
  get abortReason(): string | undefined {
    if (!this.abort) return undefined;
    const { resolution, environment } = this.abort;
    return `aborted by ${resolution.by} at task "${resolution.taskId}" in ${environment}${resolution.comment ? `: ${resolution.comment}` : ''}`;
  }

  /** The tasks waiting now, for the status query. */
  snapshot(): EscalationView[] {
    return this.entries
      .filter((e) => !e.resolution)
      .map(({ resolution: _resolution, ...view }) => ({ ...view, steps: view.steps.map((s) => ({ ...s })) }));
  }

  /** The run is closing: later resolutions are refused as "finished". */
  finish(): void {
    this.finished = true;
  }

  /** Waits for a resolution of this task, another task's abort, or the timeout. */
  async wait(view: Omit<EscalationView, 'since' | 'actions'>, timeoutMs: number): Promise<HumanOutcome> {
    const entry: DeskEntry = { ...view, steps: [...view.steps], since: new Date(Date.now()).toISOString(), actions: RESOLVE_ACTIONS };
    this.entries.push(entry);
    if (this.entries.length === 1) this.options.awaiting(true);
    try {
      const decided = await condition(() => entry.resolution !== undefined || this.abort !== undefined, timeoutMs, { summary: `escalation of ${view.taskId}: a resolution (ados resolve) or the timeout` });
      if (entry.resolution) return { kind: entry.resolution.action, resolution: entry.resolution };
      if (decided && this.abortReason) return { kind: 'aborted', reason: this.abortReason };
      return { kind: 'expired' };
    } finally {
      this.entries.splice(this.entries.indexOf(entry), 1);
      if (this.entries.length === 0) this.options.awaiting(false);
    }
  }

  private rulesState(): ResolveRulesState {
    const open: OpenEscalation[] = this.entries.filter((e) => !e.resolution).map((e) => ({ environment: e.environment, taskId: e.taskId }));
    return { open, aborted: this.abort !== undefined, finished: this.finished };
  }

  private async receiveUpdate(raw: unknown): Promise<ResolveOutcome> {
    const recorded = await this.receive(raw, 'update');
    // The state can change between validation and this handler (another resolution won the race).
    if (!recorded.counted) throw ApplicationFailure.create({ type: 'ResolutionNotCounted', message: recorded.reason, nonRetryable: true });
    return {
      workflowId: this.options.workflowId,
      environment: recorded.environment as Environment,
      taskId: recorded.taskId,
      action: recorded.action as ResolveOutcome['action'],
      by: recorded.by,
    };
  }

  /** Judges and applies synchronously (handlers see a consistent desk; replay gives the same order), then audits. */
  private async receive(raw: unknown, via: RecordedResolution['via']): Promise<RecordedResolution> {
    const judgement = judgeResolution(this.rulesState(), raw);
    let recorded: RecordedResolution;
    if (judgement.counts) {
      const { resolution, target } = judgement;
      const entry = this.entries.find((e) => !e.resolution && e.taskId === target.taskId && e.environment === target.environment);
      if (entry) entry.resolution = resolution;
      if (resolution.action === 'abort') this.abort = { resolution, environment: target.environment };
      recorded = { ...resolution, environment: target.environment, counted: true, via };
    } else {
      const comment = fieldOf(raw, 'comment');
      recorded = {
        taskId: recordedText(fieldOf(raw, 'taskId')),
        action: recordedText(fieldOf(raw, 'action')),
        by: recordedText(fieldOf(raw, 'by')),
        ...(typeof comment === 'string' ? { comment: recordedText(comment) } : {}),
        counted: false,
        reason: judgement.reason,
        via,
      };
    }
    await this.options.record(recorded);
    return recorded;
  }
}
