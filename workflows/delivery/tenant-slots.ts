import { CancellationScope, condition, log, setHandler } from '@temporalio/workflow';
import {
  agentResource,
  parseGateMessage,
  slotGrantSchema,
  slotRecallSchema,
  tenantSlotsGrantedSignal,
  tenantSlotsRecallSignal,
  type GateRequest,
  type HolderRef,
  type SlotRequest,
} from '../../shared/contract/tenancy/gate';
import { taskAgent, type DeliveryRun } from '../../shared/contract/delivery/input';
import { afterActivation, EventSink } from '../common/audit-trail';
import { readyNodes } from '../dag';

/** One change to what the run asks of its tenant gate. */
type SlotChange = { acquire: SlotRequest } | { release: string };

function gateRequest(holder: HolderRef, changes: SlotChange[]): GateRequest {
  const acquire = changes.flatMap((c) => ('acquire' in c ? [c.acquire] : []));
  const release = changes.flatMap((c) => ('release' in c ? [c.release] : []));
  return { holder, ...(acquire.length > 0 ? { acquire } : {}), ...(release.length > 0 ? { release } : {}) };
}

/** An agent resource's units as the run sees them. */
interface UnitPool {
  /** Granted, no task on them: the next task of the agent takes one without asking the gate. */
  idle: string[];
  /** Asked for and not granted yet, oldest first. */
  asked: string[];
  /** Tasks waiting for a unit, first come first served. */
  waiters: Array<(unit: string) => void>;
  /** Recalled by the gate since the run last asked for a unit: a unit whose task ends goes back. */
  recalled: boolean;
  /** Units asked for so far (their ids are `<resource>#<n>`, never reused within the run). */
  issued: number;
}

/** The agent units of the tasks a run starts first (its DAG's first ready tasks, within maxParallel), by resource. */
export function firstTaskUnits(run: Pick<DeliveryRun, 'plan' | 'maxParallel'>): Map<string, number> {
  const units = new Map<string, number>();
  for (const task of readyNodes(run.plan.tasks, {}, new Set(), run.maxParallel)) {
    const resource = agentResource(taskAgent(task));
    units.set(resource, (units.get(resource) ?? 0) + 1);
  }
  return units;
}

/** An agent unit asked for: the resource and the priority its requests carry. */
export interface UnitRequest {
  resource: string;
  priority?: number;
}

/**
 * A delivery run's side of its tenant gate (shared/contract/tenancy/gate.ts): the run's `runs` slot, and leases on
 * its agents' units. A task of an agent takes an idle unit the run already holds, or asks the gate for one when all
 * of them are busy; when its task ends the unit goes to the next task waiting for that agent, else stays idle for the
 * next one, until the gate recalls the agent's units (somebody else waits for them): then the idle units go back at
 * once and each busy one when its task ends. Acquires and releases made in one activation go to the gate as one
 * signal (an EventSink batch: the tasks that became ready together ask together), one message in flight at a time so
 * that the gate sees them in order; grants and recalls come back as signals.
 *
 * Requests go by signal-with-start from a local activity even while the gate is known to run: a signal from the
 * workflow itself costs the run one more workflow task (its ExternalWorkflowExecutionSignaled event), the local
 * activity none (it runs inside the workflow task that asks).
 */
export class TenantSlots {
  /** Slots granted by request id (the `runs` slot). */
  private readonly granted = new Set<string>();
  private readonly pools = new Map<string, UnitPool>();
  private readonly changes: EventSink<SlotChange>;
  private releasedAll?: Promise<void>;

  /** `send` delivers one request to the gate (by signal-with-start: the gate may not be running yet). */
  constructor(
    private readonly holder: HolderRef,
    private readonly send: (request: GateRequest) => Promise<void>,
  ) {
    setHandler(tenantSlotsGrantedSignal, (payload: unknown) => {
      const grant = parseGateMessage(slotGrantSchema, payload);
      if (!grant.ok) return log.warn('tenant slots: a malformed grant was dropped', { issue: grant.issue });
      for (const id of grant.value.requestIds) this.onGranted(id);
    });
    setHandler(tenantSlotsRecallSignal, (payload: unknown) => {
      const recall = parseGateMessage(slotRecallSchema, payload);
      if (!recall.ok) return log.warn('tenant slots: a malformed recall was dropped', { issue: recall.issue });
      for (const resource of recall.value.resources) this.onRecalled(resource);
    });
    this.changes = new EventSink<SlotChange>((batch) => this.send(gateRequest(holder, batch)), 200, afterActivation);
  }

  /** Resolves once the gate grants the slot (held until released or the run ends). */
  async acquire(slot: SlotRequest): Promise<void> {
    this.changes.push({ acquire: slot });
    await condition(() => this.granted.has(slot.requestId));
  }

  /**
   * Asks now for `count` units of `unit.resource` no task waits for yet: a run's first tasks' units, asked for with
   * its run slot (the gate grants them with it, so that its first tasks start without another round trip).
   */
  prefetch(unit: UnitRequest, count: number): void {
    const pool = this.pool(unit.resource);
    for (let i = 0; i < count; i++) this.ask(pool, unit);
  }

  /** Runs `work` on a unit of `unit.resource`: one the run holds idle, or one asked for; the unit is handed on after. */
  withUnit<T>(unit: UnitRequest, work: () => Promise<T>): Promise<T> {
    const pool = this.pool(unit.resource);
    return this.takeUnit(pool, unit).then((id) => work().finally(() => this.handOn(pool, id)));
  }

  /** Gives back the idle units of every agent (the tasks that follow, if any, ask again). */
  releaseIdle(): void {
    for (const pool of this.pools.values()) for (const id of pool.idle.splice(0)) this.changes.push({ release: id });
  }

  /**
   * Gives back everything the run holds or waits for, whatever ended it (a cancelled run too): after the message in
   * flight, so that the gate never sees one of the run's acquires after it; the changes not sent yet are dropped.
   * Sent once: a second call waits for the first.
   */
  releaseAll(): Promise<void> {
    this.releasedAll ??= CancellationScope.nonCancellable(async () => {
      await this.changes.take().catch((error: unknown) => log.warn('tenant slots: a request to the gate failed before the final release', { error: String(error) }));
      await this.send({ holder: this.holder, releaseAll: true });
    });
    return this.releasedAll;
  }

  private pool(resource: string): UnitPool {
    let pool = this.pools.get(resource);
    if (!pool) {
      pool = { idle: [], asked: [], waiters: [], recalled: false, issued: 0 };
      this.pools.set(resource, pool);
    }
    return pool;
  }

  private takeUnit(pool: UnitPool, unit: UnitRequest): Promise<string> {
    const idle = pool.idle.shift();
    if (idle !== undefined) return Promise.resolve(idle);
    return new Promise<string>((resolve) => {
      pool.waiters.push(resolve);
      if (pool.asked.length < pool.waiters.length) this.ask(pool, unit);
    });
  }

  private ask(pool: UnitPool, unit: UnitRequest): void {
    pool.issued += 1;
    const requestId = `${unit.resource}#${pool.issued}`;
    pool.asked.push(requestId);
    // Asking again ends a recall (the gate forgets it at the same message): what comes back is a lease again.
    pool.recalled = false;
    this.changes.push({ acquire: { requestId, resource: unit.resource, ...(unit.priority !== undefined ? { priority: unit.priority } : {}) } });
  }

  /** A unit whose task ended: to the next waiting task, else back to the gate if recalled, else idle. */
  private handOn(pool: UnitPool, id: string): void {
    if (pool.recalled) {
      this.changes.push({ release: id });
      return;
    }
    const waiter = pool.waiters.shift();
    if (!waiter) {
      pool.idle.push(id);
      return;
    }
    waiter(id);
    // The waiter was served by this unit: the newest request it no longer needs leaves the gate's queue.
    if (pool.asked.length > pool.waiters.length) this.changes.push({ release: pool.asked.pop()! });
  }

  private onGranted(id: string): void {
    const pool = this.poolOfRequest(id);
    if (!pool) {
      this.granted.add(id);
      return;
    }
    const index = pool.asked.indexOf(id);
    // A request the run withdrew (a unit of its own served the task first): the gate took it back with the release.
    if (index < 0) return;
    pool.asked.splice(index, 1);
    const waiter = pool.waiters.shift();
    if (waiter) waiter(id);
    else if (pool.recalled) this.changes.push({ release: id });
    else pool.idle.push(id);
  }

  private onRecalled(resource: string): void {
    const pool = this.pools.get(resource);
    if (!pool) return;
    pool.recalled = true;
    for (const id of pool.idle.splice(0)) this.changes.push({ release: id });
  }

  /** The pool an agent unit's request id belongs to (`<resource>#<n>`); undefined for the `runs` slot. */
  private poolOfRequest(id: string): UnitPool | undefined {
    const hash = id.lastIndexOf('#');
    return hash < 0 ? undefined : this.pools.get(id.slice(0, hash));
  }
}
