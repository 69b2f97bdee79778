/**
 * The tenant gate's rules (README, "Tenant gate"), pure and clock-free so that the workflow replays them and the unit
 * tests run them without a server. They change the GateState they are given (the gate's own state) and return what
 * the gate must do: the grants to send, when to look again, which backpressure to read.
 */
import { atLeast } from '../../shared/contract/tenancy/backpressure';
import {
  BACKPRESSURE_RECHECK_SECONDS,
  isAgentResource,
  LOW_PRIORITY_MAX,
  RUNS_RESOURCE,
  type GateLimits,
  type GateRequest,
  type GateState,
  type Holding,
  type HolderRef,
  type ResourceView,
  type TenantGateView,
  type WaitCause,
  type Waiting,
} from '../../shared/contract/tenancy/gate';
import { fullBucket, msUntilFull, msUntilToken, takeToken, type TokenBucketLimit } from '../../shared/contract/tenancy/token-bucket';

export function freshGateState(tenantId: string, taskQueuePrefix: string): GateState {
  return { tenantId, taskQueuePrefix, holding: [], waiting: [], seq: 0, buckets: {}, recalled: [], totals: { granted: 0, released: 0, closedHolders: 0, recalls: 0 } };
}

/** Grant order: higher priority first, then arrival. */
export function grantOrder(a: Waiting, b: Waiting): number {
  return b.priority - a.priority || a.seq - b.seq;
}

export function capacityOf(limits: GateLimits, resource: string): number {
  return resource === RUNS_RESOURCE ? limits.maxConcurrentRuns : limits.maxConcurrentTasksPerAgent;
}

export function bucketLimitOf(limits: GateLimits, resource: string): TokenBucketLimit {
  return resource === RUNS_RESOURCE
    ? { perMinute: limits.runStartsPerMinute, burst: limits.runStartBurst }
    : { perMinute: limits.agentTaskStartsPerMinute, burst: limits.agentTaskStartBurst };
}

const sameHolder = (a: HolderRef, b: HolderRef) => a.workflowId === b.workflowId && a.runId === b.runId;

/**
 * The waiting requests that may be granted once they reach the head of their queue: all but the agent units of a
 * holder that still waits for its `runs` slot (a run asks for its first tasks' units with its run slot; they wait
 * with it, and come in the same grant).
 */
export function eligibleWaiting(state: GateState): Waiting[] {
  const waitingForRun = state.waiting.filter((w) => w.resource === RUNS_RESOURCE);
  return state.waiting.filter((w) => w.resource === RUNS_RESOURCE || !waitingForRun.some((r) => sameHolder(r.holder, w.holder)));
}

/**
 * Applies one holder's message: releases first, then acquires (a request already held or queued is not queued again).
 * An acquire ends the holder's recall for that resource: it holds its units as leases again, until the next recall.
 */
export function applyGateRequest(state: GateState, limits: GateLimits, request: GateRequest, nowMs: number): void {
  const { holder } = request;
  if (request.releaseAll) removeHolder(state, holder);
  else if (request.release && request.release.length > 0) {
    const released = new Set(request.release);
    const before = state.holding.length;
    state.holding = state.holding.filter((h) => !(sameHolder(h.holder, holder) && released.has(h.requestId)));
    state.totals.released += before - state.holding.length;
    state.waiting = state.waiting.filter((w) => !(sameHolder(w.holder, holder) && released.has(w.requestId)));
  }
  for (const slot of request.acquire ?? []) {
    state.recalled = state.recalled.filter((r) => !(r.resource === slot.resource && sameHolder(r.holder, holder)));
    const known = [...state.holding, ...state.waiting].some((e) => sameHolder(e.holder, holder) && e.requestId === slot.requestId);
    if (known) continue;
    state.seq += 1;
    state.waiting.push({
      holder,
      requestId: slot.requestId,
      resource: slot.resource,
      priority: slot.priority ?? limits.priority,
      seq: state.seq,
      requestedAtMs: nowMs,
      ...(slot.capabilities ? { capabilities: slot.capabilities } : {}),
    });
  }
}

/** Drops everything a holder holds or waits for; the number of slots it held. */
export function removeHolder(state: GateState, holder: HolderRef): number {
  const before = state.holding.length;
  state.holding = state.holding.filter((h) => !sameHolder(h.holder, holder));
  state.waiting = state.waiting.filter((w) => !sameHolder(w.holder, holder));
  state.recalled = state.recalled.filter((r) => !sameHolder(r.holder, holder));
  const released = before - state.holding.length;
  state.totals.released += released;
  return released;
}

/**
 * The holders of every full resource somebody waits for: the ones whose closing without a release would keep a
 * waiter out (a full resource nobody waits for loses nothing while it waits for its holders).
 */
export function blockingHolders(state: GateState, limits: GateLimits): HolderRef[] {
  const seen = new Map<string, HolderRef>();
  for (const resource of new Set(eligibleWaiting(state).map((w) => w.resource))) {
    const held = state.holding.filter((h) => h.resource === resource);
    if (held.length < capacityOf(limits, resource)) continue;
    for (const h of held) seen.set(`${h.holder.workflowId}/${h.holder.runId}`, h.holder);
  }
  return [...seen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, holder]) => holder);
}

/** One recall signal: a holder and the resources it is to give back. */
export interface Recall {
  holder: HolderRef;
  resources: string[];
}

/**
 * The recalls to send now: for every agent resource whose queue waits because it is full, each holder of units of it
 * that somebody else waits behind, and that has not been recalled for it since it last asked for one (marked here,
 * in state.recalled). A holder waiting only behind itself is not recalled: it hands its own units on. `runs` slots
 * are held for a whole run and never recalled.
 */
export function decideRecalls(state: GateState, limits: GateLimits): Recall[] {
  const byHolder = new Map<string, Recall>();
  const eligible = eligibleWaiting(state);
  const resources = [...new Set(eligible.map((w) => w.resource))].filter(isAgentResource).sort();
  for (const resource of resources) {
    const held = state.holding.filter((h) => h.resource === resource);
    if (held.length < capacityOf(limits, resource)) continue;
    const waiters = eligible.filter((w) => w.resource === resource);
    for (const { holder } of held) {
      if (!waiters.some((w) => !sameHolder(w.holder, holder))) continue;
      if (state.recalled.some((r) => r.resource === resource && sameHolder(r.holder, holder))) continue;
      state.recalled.push({ holder, resource });
      const key = `${holder.workflowId}/${holder.runId}`;
      const recall = byHolder.get(key) ?? { holder, resources: [] };
      recall.resources.push(resource);
      byHolder.set(key, recall);
    }
  }
  state.totals.recalls += byHolder.size;
  return [...byHolder.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, recall]) => recall);
}

export interface GateDecision {
  /** Moved from waiting to holding by this decision. */
  grants: Holding[];
  /** Look again after this long (a token or a backpressure re-read is due); undefined: only a message changes things. */
  wakeInMs?: number;
  /** Read backpressure for these capabilities before low-priority runs may start. */
  readBackpressureFor?: string[];
}

const isLowPriorityRun = (entry: Waiting) => entry.resource === RUNS_RESOURCE && entry.priority <= LOW_PRIORITY_MAX;
const RECHECK_MS = BACKPRESSURE_RECHECK_SECONDS * 1000;

/** Why `head` cannot be granted now (undefined: it can), and when that may change. */
function headBlock(state: GateState, limits: GateLimits, head: Waiting, held: number, nowMs: number): { cause: WaitCause; wakeInMs?: number; read?: boolean } | undefined {
  if (held >= capacityOf(limits, head.resource)) return { cause: 'capacity' };
  if (isLowPriorityRun(head)) {
    const bp = state.backpressure;
    if (!bp || nowMs - bp.readAtMs >= RECHECK_MS) return { cause: 'backpressure', read: true };
    if (atLeast(bp.reading.level, 'critical')) return { cause: 'backpressure', wakeInMs: bp.readAtMs + RECHECK_MS - nowMs };
  }
  const limit = bucketLimitOf(limits, head.resource);
  const wait = msUntilToken(state.buckets[head.resource] ?? fullBucket(limit, nowMs), limit, nowMs);
  return wait > 0 ? { cause: 'rate', wakeInMs: wait } : undefined;
}

/**
 * Grants what may be granted now, per resource in grant order; stops at each resource's first request that must wait.
 * `runs` goes first, so that a run granted its slot gets the units it asked for with it in the same pass.
 */
export function decideGrants(state: GateState, limits: GateLimits, nowMs: number): GateDecision {
  const grants: Holding[] = [];
  let wakeInMs: number | undefined;
  let read = false;
  const resources = [...new Set(state.waiting.map((w) => w.resource))].sort((a, b) => Number(b === RUNS_RESOURCE) - Number(a === RUNS_RESOURCE));
  for (const resource of resources) {
    const queue = eligibleWaiting(state).filter((w) => w.resource === resource).sort(grantOrder);
    let held = state.holding.filter((h) => h.resource === resource).length;
    for (const head of queue) {
      const block = headBlock(state, limits, head, held, nowMs);
      if (block) {
        if (block.wakeInMs !== undefined) wakeInMs = Math.min(wakeInMs ?? Infinity, Math.max(1, block.wakeInMs));
        read ||= block.read === true;
        break;
      }
      const limit = bucketLimitOf(limits, resource);
      state.buckets[resource] = takeToken(state.buckets[resource] ?? fullBucket(limit, nowMs), limit, nowMs)!;
      const granted: Holding = { holder: head.holder, requestId: head.requestId, resource, priority: head.priority, grantedAtMs: nowMs };
      state.holding.push(granted);
      state.waiting = state.waiting.filter((w) => w !== head);
      state.totals.granted += 1;
      grants.push(granted);
      held += 1;
    }
  }
  const lowRuns = state.waiting.filter(isLowPriorityRun);
  return {
    grants,
    ...(wakeInMs !== undefined ? { wakeInMs } : {}),
    ...(read ? { readBackpressureFor: [...new Set(lowRuns.flatMap((w) => w.capabilities ?? []))].sort() } : {}),
  };
}

/** Forgets the buckets nobody uses that have refilled (a full bucket is what a missing one means). */
export function pruneBuckets(state: GateState, limits: GateLimits, nowMs: number): void {
  const inUse = new Set([...state.holding, ...state.waiting].map((e) => e.resource));
  for (const [resource, bucket] of Object.entries(state.buckets)) {
    if (!inUse.has(resource) && msUntilFull(bucket, bucketLimitOf(limits, resource), nowMs) === 0) delete state.buckets[resource];
  }
}

/** How long until every bucket is full again (the gate stays up until then, so a restart cannot refill it early). */
export function msUntilBucketsFull(state: GateState, limits: GateLimits, nowMs: number): number {
  return Math.max(0, ...Object.entries(state.buckets).map(([resource, bucket]) => msUntilFull(bucket, bucketLimitOf(limits, resource), nowMs)));
}

/**
 * The state query's answer: per resource its holders and its queue in grant order, with positions (a run's units that
 * wait with its run slot are not in their agent's queue yet).
 */
export function gateView(state: GateState, nowMs: number): TenantGateView {
  const { limits } = state;
  const resources = [...new Set([...state.holding, ...state.waiting].map((e) => e.resource))].sort((a, b) =>
    a === RUNS_RESOURCE ? -1 : b === RUNS_RESOURCE ? 1 : a.localeCompare(b),
  );
  const views: ResourceView[] = resources.map((resource) => {
    const held = state.holding.filter((h) => h.resource === resource);
    const queue = eligibleWaiting(state)
      .filter((w) => w.resource === resource)
      .sort(grantOrder)
      .map((w, index) => ({ ...w, position: index + 1 }));
    const capacity = limits ? capacityOf(limits, resource) : 0;
    const block = limits && queue.length > 0 ? headBlock(state, limits, queue[0], held.length, nowMs) : undefined;
    return { resource, capacity, held, queue, ...(block ? { blockedBy: block.cause } : {}) };
  });
  return {
    tenantId: state.tenantId,
    ...(limits ? { limits } : {}),
    resources: views,
    ...(state.backpressure ? { backpressure: state.backpressure.reading } : {}),
    totals: state.totals,
  };
}
