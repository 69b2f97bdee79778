/**
 * The tenant gate's contract (README, "Tenant gate"): `tenantGate`, one entity workflow per tenant
 * (`tenant-gate-<tenant>`), is a durable semaphore over the tenant's resources: `runs` (capacity
 * limits.maxConcurrentRuns) and `agent:<name>` (capacity limits.maxConcurrentTasksPerAgent each). A holder (a delivery
 * run) sends its acquires and releases in one `tenantGateRequest` signal per workflow activation, by signal-with-start
 * (requestTenantSlots, an activity); the gate grants by signalling `tenantSlotsGranted` back, FIFO within priority.
 * Agent units are leases: a holder keeps the units it was granted and reuses them for its next tasks of that agent
 * until the gate, when somebody else waits for that agent, signals `tenantSlotsRecall`. Every signal is parsed
 * strictly at its receiver (a malformed one is logged and dropped).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { z } from 'zod';
import type { BackpressureReading } from './backpressure';
import type { TokenBucketState } from './token-bucket';

/** The gate's workflow type (started by name from activities, which do not import workflows/). */
export const TENANT_GATE_WORKFLOW_TYPE = 'tenantGate';

/** The resource every run holds one slot of while it runs. */
export const RUNS_RESOURCE = 'runs';

/** The resource of an agent's task slots: `agent:<name>`. */
export function agentResource(agent: string): string {
  return `agent:${agent}`;
}

/** Whether `resource` is an agent's (leased, recallable) rather than `runs` (held for the whole run). */
export function isAgentResource(resource: string): boolean {
  return resource.startsWith('agent:');
}

/**
 * Runs at this priority or below are low priority: at backpressure `critical` (or `overload`) the gate holds their
 * `runs` grants until the level drops (README, "Tenant gate").
 */
export const LOW_PRIORITY_MAX = 3;

/** How often the gate re-reads backpressure while low-priority runs wait on it. */
export const BACKPRESSURE_RECHECK_SECONDS = 15;

/**
 * While a request waits behind a full resource, the gate describes that resource's holders to find those that closed
 * without releasing (terminated, timed out): first after HOLDER_CHECK_SECONDS, then at doubling intervals up to
 * HOLDER_CHECK_MAX_SECONDS while the same holders stay in place (another set of holders starts again at the first).
 */
export const HOLDER_CHECK_SECONDS = 5;
export const HOLDER_CHECK_MAX_SECONDS = 60;

const holderRefSchema = z.object({ workflowId: z.string().min(1), runId: z.string().min(1) }).strict();
const resourceSchema = z.string().regex(/^(runs|agent:.+)$/, 'must be "runs" or "agent:<name>"');

/** A workflow execution that holds or waits for slots. */
export type HolderRef = z.output<typeof holderRefSchema>;

/** One slot asked for. `requestId` is unique within its holder (`runs`, `agent:build#3`). */
const slotRequestSchema = z
  .object({
    requestId: z.string().min(1),
    resource: resourceSchema,
    /** 1-10, higher first; default the tenant's priority. */
    priority: z.number().int().min(1).max(10).optional(),
    /** For `runs`: the capabilities whose queues decide backpressure for this run. */
    capabilities: z.array(z.string().min(1)).optional(),
  })
  .strict();
export type SlotRequest = z.output<typeof slotRequestSchema>;

/** What a holder sends: slots to acquire, slots to release (by requestId), or everything it holds or waits for. */
export const gateRequestSchema = z
  .object({
    holder: holderRefSchema,
    acquire: z.array(slotRequestSchema).optional(),
    release: z.array(z.string().min(1)).optional(),
    releaseAll: z.boolean().optional(),
  })
  .strict();
export type GateRequest = z.output<typeof gateRequestSchema>;

/** What the gate sends a holder: the requests granted in one activation. */
export const slotGrantSchema = z.object({ requestIds: z.array(z.string().min(1)) }).strict();
export type SlotGrant = z.output<typeof slotGrantSchema>;

/**
 * What the gate sends a holder of units of agent resources somebody else waits for: give back the idle units now and
 * each other unit when its task ends, until the holder asks for a unit of that resource again.
 */
export const slotRecallSchema = z.object({ resources: z.array(resourceSchema).min(1) }).strict();
export type SlotRecall = z.output<typeof slotRecallSchema>;

export const tenantGateRequestSignal = defineSignal<[GateRequest]>('tenantGateRequest');
/** Re-read the tenant's profile (sent by `ados tenant update`). */
export const tenantGateRefreshSignal = defineSignal('tenantGateRefresh');
export const tenantSlotsGrantedSignal = defineSignal<[SlotGrant]>('tenantSlotsGranted');
export const tenantSlotsRecallSignal = defineSignal<[SlotRecall]>('tenantSlotsRecall');

/** A signal's payload parsed by `schema`, or why it is refused (`path: message`, the first issue). */
export function parseGateMessage<T>(schema: z.ZodType<T>, payload: unknown): { ok: true; value: T } | { ok: false; issue: string } {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return { ok: true, value: parsed.data };
  const [first] = parsed.error.issues;
  return { ok: false, issue: `${first.path.join('.') || '(root)'}: ${first.message}` };
}

/** The profile limits the gate enforces (TenantProfile.limits, read by an activity). */
export interface GateLimits {
  maxConcurrentRuns: number;
  maxConcurrentTasksPerAgent: number;
  priority: number;
  runStartsPerMinute: number;
  runStartBurst: number;
  agentTaskStartsPerMinute: number;
  agentTaskStartBurst: number;
}

export interface Holding {
  holder: HolderRef;
  requestId: string;
  resource: string;
  priority: number;
  grantedAtMs: number;
}

export interface Waiting {
  holder: HolderRef;
  requestId: string;
  resource: string;
  priority: number;
  /** Arrival order (FIFO within priority). */
  seq: number;
  requestedAtMs: number;
  capabilities?: string[];
}

/** The gate's whole state: plain JSON, carried over continue-as-new. */
export interface GateState {
  tenantId: string;
  taskQueuePrefix: string;
  limits?: GateLimits;
  holding: Holding[];
  waiting: Waiting[];
  seq: number;
  /** Token buckets by name: `runs`, `agent:<name>`. */
  buckets: Record<string, TokenBucketState>;
  backpressure?: { reading: BackpressureReading; readAtMs: number };
  /** The holders sent a recall for a resource, until they ask for a unit of it again (one recall each till then). */
  recalled: Array<{ holder: HolderRef; resource: string }>;
  totals: { granted: number; released: number; closedHolders: number; recalls: number };
}

export interface TenantGateInput {
  tenantId: string;
  taskQueuePrefix: string;
  /** The state of the run this one continues. */
  state?: GateState;
  /** History length at which the gate continues as new (default 2000). */
  continueAsNewAfterEvents?: number;
}

/** Why the head of a queue waits. */
export type WaitCause = 'capacity' | 'rate' | 'backpressure';

export interface QueueEntryView extends Waiting {
  /** 1-based, in grant order (priority, then arrival). */
  position: number;
}

export interface ResourceView {
  resource: string;
  capacity: number;
  held: Holding[];
  queue: QueueEntryView[];
  /** Why the first in the queue waits, when something waits. */
  blockedBy?: WaitCause;
}

/** The state query's answer (read by `ados run why`). */
export interface TenantGateView {
  tenantId: string;
  limits?: GateLimits;
  resources: ResourceView[];
  backpressure?: BackpressureReading;
  totals: GateState['totals'];
}

export const tenantGateStateQuery = defineQuery<TenantGateView>('tenantGateState');

/** What the holder side calls to reach the gate (an activity of activities/tenancy/, by signal-with-start). */
export interface TenantSlotsRequestInput {
  tenantId: string;
  taskQueuePrefix: string;
  request: GateRequest;
}

export interface TenantGateClientActivities {
  requestTenantSlots(input: TenantSlotsRequestInput): Promise<void>;
}

const resourceNoun = (resource: string, capacity: number) =>
  resource === RUNS_RESOURCE ? `${capacity} concurrent runs` : `${capacity} concurrent tasks of agent ${resource.slice('agent:'.length)}`;

/**
 * Why `workflowId` waits at the gate, one line per request: "tenant acme at 5/5 concurrent runs, position 3 in
 * queue". Empty when it waits for nothing there.
 */
export function describeGateWait(view: TenantGateView, workflowId: string): string[] {
  const lines: string[] = [];
  for (const resource of view.resources) {
    for (const entry of resource.queue) {
      if (entry.holder.workflowId !== workflowId) continue;
      const at = `tenant ${view.tenantId} at ${resource.held.length}/${resourceNoun(resource.resource, resource.capacity)}, position ${entry.position} in queue`;
      if (entry.position > 1 || resource.blockedBy === 'capacity' || resource.blockedBy === undefined) lines.push(at);
      else if (resource.blockedBy === 'rate') {
        const rate = resource.resource === RUNS_RESOURCE ? `${view.limits?.runStartsPerMinute} run starts/min` : `${view.limits?.agentTaskStartsPerMinute} task starts/min per agent`;
        lines.push(`${at}: rate limit ${rate}`);
      } else lines.push(`${at}: low-priority runs wait out ${view.backpressure?.reason ?? 'backpressure'}`);
    }
  }
  return lines;
}
