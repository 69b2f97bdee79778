import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
  type SignalDefinition,
} from '@temporalio/workflow';
import type { BackpressureActivities } from '../../activities/tenancy/backpressure';
import type { TenantGateActivities } from '../../activities/tenancy/gate-activities';
import {
  HOLDER_CHECK_MAX_SECONDS,
  HOLDER_CHECK_SECONDS,
  gateRequestSchema,
  parseGateMessage,
  tenantGateRefreshSignal,
  tenantGateRequestSignal,
  tenantGateStateQuery,
  tenantSlotsGrantedSignal,
  tenantSlotsRecallSignal,
  type GateLimits,
  type GateRequest,
  type GateState,
  type Holding,
  type HolderRef,
  type TenantGateInput,
} from '../../shared/contract/tenancy/gate';
import { errorMessage } from '../dag';
import { applyGateRequest, blockingHolders, decideGrants, decideRecalls, freshGateState, gateView, msUntilBucketsFull, pruneBuckets, removeHolder, type Recall } from './gate-rules';

/** History length at which the gate continues as new, unless the input says otherwise. */
const DEFAULT_CONTINUE_AS_NEW_AFTER = 2000;
/** How long an idle gate (nothing held, nothing queued) stays up before it completes; the next acquire starts it again. */
const IDLE_EXIT_MS = 10 * 60_000;

/**
 * The tenant's durable semaphore (shared/contract/tenancy/gate.ts; README, "Tenant gate"): it queues the slots its
 * holders ask for, grants them FIFO within priority under the profile's capacities, token buckets and (for
 * low-priority runs) backpressure, and takes them back when a holder releases them or closes without doing so. Agent
 * units are leases its holders reuse; when a request waits behind a full agent resource, the gate recalls them.
 */
export async function tenantGate(input: TenantGateInput): Promise<void> {
  await new TenantGate(input).run();
}

class TenantGate {
  private readonly state: GateState;
  private readonly inbox: GateRequest[] = [];
  /** Holders found closed (by a holder check, or by a grant that could not be delivered), to release. */
  private readonly closed: HolderRef[] = [];
  private refreshWanted: boolean;
  /** The next holder check: which holders, when, and the interval after it (doubling while they stay). */
  private holderCheck?: { key: string; dueMs: number; intervalMs: number };
  private readonly activities = proxyActivities<TenantGateActivities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', maximumInterval: '30s' },
  });
  /** Backpressure is advice: a reading that fails three times counts as normal (the gate re-reads later). */
  private readonly backpressure = proxyActivities<BackpressureActivities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', maximumAttempts: 3 },
  });

  constructor(private readonly input: TenantGateInput) {
    this.state = input.state ?? freshGateState(input.tenantId, input.taskQueuePrefix);
    this.refreshWanted = !this.state.limits;
    setHandler(tenantGateRequestSignal, (payload: unknown) => {
      const parsed = parseGateMessage(gateRequestSchema, payload);
      if (parsed.ok) this.inbox.push(parsed.value);
      else log.warn('tenant gate: a malformed request was dropped', { issue: parsed.issue });
    });
    setHandler(tenantGateRefreshSignal, () => {
      this.refreshWanted = true;
    });
    setHandler(tenantGateStateQuery, () => gateView(this.state, Date.now()));
  }

  async run(): Promise<void> {
    for (;;) {
      const limits = await this.currentLimits();
      const now = Date.now();
      for (const request of this.inbox.splice(0)) applyGateRequest(this.state, limits, request, now);
      for (const holder of this.closed.splice(0)) {
        removeHolder(this.state, holder);
        this.state.totals.closedHolders += 1;
      }
      const decision = decideGrants(this.state, limits, now);
      await Promise.all([this.sendGrants(decision.grants), this.sendRecalls(decideRecalls(this.state, limits))]);
      if (decision.readBackpressureFor) {
        await this.readBackpressure(decision.readBackpressureFor);
        continue;
      }
      pruneBuckets(this.state, limits, now);
      if (this.historyFull()) {
        if (await this.readyToContinue()) return this.continueAsNew();
        continue;
      }
      if (await this.checkHolders(limits, now)) continue;
      const idle = this.state.holding.length === 0 && this.state.waiting.length === 0;
      const wakes = [decision.wakeInMs, this.holderCheck && this.holderCheck.dueMs - now].filter((ms): ms is number => ms !== undefined);
      const timeout = idle ? Math.max(IDLE_EXIT_MS, msUntilBucketsFull(this.state, limits, now)) : wakes.length > 0 ? Math.max(1, Math.min(...wakes)) : undefined;
      const news = () => this.inbox.length > 0 || this.closed.length > 0 || this.refreshWanted;
      const woke = timeout === undefined ? (await condition(news), true) : await condition(news, timeout, { summary: idle ? 'idle: exits unless a request comes' : 'next grant, refill or holder check' });
      if (!woke && idle) {
        await condition(allHandlersFinished);
        if (!news()) return;
      }
    }
  }

  private async currentLimits(): Promise<GateLimits> {
    if (this.refreshWanted || !this.state.limits) {
      this.refreshWanted = false;
      this.state.limits = await this.activities.loadGateLimits({ tenantId: this.state.tenantId });
    }
    return this.state.limits;
  }

  /**
   * Describes the holders that keep a waiter out once their check is due (HOLDER_CHECK_SECONDS after they became the
   * ones, then doubling to HOLDER_CHECK_MAX_SECONDS); true when it ran (the closed ones are queued for release).
   */
  private async checkHolders(limits: GateLimits, now: number): Promise<boolean> {
    const holders = blockingHolders(this.state, limits);
    if (holders.length === 0) {
      this.holderCheck = undefined;
      return false;
    }
    const key = holders.map((h) => `${h.workflowId}/${h.runId}`).join(' ');
    if (this.holderCheck?.key !== key) {
      this.holderCheck = { key, dueMs: now + HOLDER_CHECK_SECONDS * 1000, intervalMs: HOLDER_CHECK_SECONDS * 1000 };
      return false;
    }
    if (now < this.holderCheck.dueMs) return false;
    this.closed.push(...(await this.activities.findClosedHolders({ holders })));
    const intervalMs = Math.min(this.holderCheck.intervalMs * 2, HOLDER_CHECK_MAX_SECONDS * 1000);
    this.holderCheck = { key, dueMs: Date.now() + intervalMs, intervalMs };
    return true;
  }

  /** One signal per holder with everything granted to it now. */
  private async sendGrants(grants: Holding[]): Promise<void> {
    const byHolder = new Map<string, { holder: HolderRef; requestIds: string[] }>();
    for (const grant of grants) {
      const key = `${grant.holder.workflowId}/${grant.holder.runId}`;
      const entry = byHolder.get(key) ?? { holder: grant.holder, requestIds: [] };
      entry.requestIds.push(grant.requestId);
      byHolder.set(key, entry);
    }
    await Promise.all([...byHolder.values()].map(({ holder, requestIds }) => this.signalHolder(holder, tenantSlotsGrantedSignal, { requestIds })));
  }

  /** One signal per holder recalled now. */
  private async sendRecalls(recalls: Recall[]): Promise<void> {
    await Promise.all(recalls.map(({ holder, resources }) => this.signalHolder(holder, tenantSlotsRecallSignal, { resources })));
  }

  /** Signals a holder; one that cannot be signalled has closed, and its slots are released. */
  private signalHolder<T>(holder: HolderRef, signal: SignalDefinition<[T]>, payload: T): Promise<void> {
    return getExternalWorkflowHandle(holder.workflowId, holder.runId)
      .signal(signal, payload)
      .catch((error: unknown) => {
        log.warn(`tenant gate: a holder could not be signalled (${signal.name}); releasing its slots`, { holder, error: errorMessage(error) });
        this.closed.push(holder);
      });
  }

  private async readBackpressure(capabilities: string[]): Promise<void> {
    const reading = await this.backpressure.readBackpressure({ taskQueuePrefix: this.state.taskQueuePrefix, capabilities }).catch((error: unknown) => {
      log.warn('tenant gate: backpressure could not be read; counting it as normal until the next reading', { error: errorMessage(error) });
      return { level: 'normal' as const, backlog: 0, oldestSeconds: 0, reason: `backpressure not read: ${errorMessage(error)}` };
    });
    this.state.backpressure = { reading, readAtMs: Date.now() };
  }

  private historyFull(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= (this.input.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER);
  }

  /** Whether every handler is done and nothing arrived meanwhile (what arrived is applied first, in the next pass). */
  private async readyToContinue(): Promise<boolean> {
    await condition(allHandlersFinished);
    return this.inbox.length === 0 && this.closed.length === 0 && !this.refreshWanted;
  }

  private async continueAsNew(): Promise<void> {
    await continueAsNew<typeof tenantGate>({ ...this.input, state: this.state });
  }
}
