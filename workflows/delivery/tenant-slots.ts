import { CancellationScope, condition, setHandler } from '@temporalio/workflow';
import { tenantSlotsGrantedSignal, type GateRequest, type HolderRef, type SlotRequest } from '../../shared/contract/tenancy/gate';
import { afterActivation, EventSink } from '../common/audit-trail';

/** One change to what the run asks of its tenant gate. */
type SlotChange = { acquire: SlotRequest } | { release: string };

function gateRequest(holder: HolderRef, changes: SlotChange[]): GateRequest {
  const acquire = changes.flatMap((c) => ('acquire' in c ? [c.acquire] : []));
  const release = changes.flatMap((c) => ('release' in c ? [c.release] : []));
  return { holder, ...(acquire.length > 0 ? { acquire } : {}), ...(release.length > 0 ? { release } : {}) };
}

/**
 * A delivery run's side of its tenant gate (shared/contract/tenancy/gate.ts): the run's `runs` slot and its tasks'
 * `agent:<name>` slots. Acquires and releases made in one activation go to the gate as one signal (an EventSink
 * batch: the tasks that became ready together ask together), one message in flight at a time so that the gate sees
 * them in order; grants come back as signals.
 */
export class TenantSlots {
  private readonly granted = new Set<string>();
  private readonly changes: EventSink<SlotChange>;

  /** `send` delivers one request to the gate (by signal-with-start: the gate may not be running yet). */
  constructor(
    private readonly holder: HolderRef,
    private readonly send: (request: GateRequest) => Promise<void>,
  ) {
    setHandler(tenantSlotsGrantedSignal, ({ requestIds }) => {
      for (const id of requestIds) this.granted.add(id);
    });
    this.changes = new EventSink<SlotChange>((batch) => this.send(gateRequest(holder, batch)), 200, afterActivation);
  }

  /** Resolves once the gate grants the slot. */
  async acquire(slot: SlotRequest): Promise<void> {
    this.changes.push({ acquire: slot });
    await condition(() => this.granted.has(slot.requestId));
  }

  release(requestId: string): void {
    this.granted.delete(requestId);
    this.changes.push({ release: requestId });
  }

  /** Runs `work` holding `slot`, released when the work settles. */
  withSlot<T>(slot: SlotRequest, work: () => Promise<T>): Promise<T> {
    return this.acquire(slot).then(() => work().finally(() => this.release(slot.requestId)));
  }

  /** Gives back everything the run holds or waits for, whatever ended it (a cancelled run too). */
  releaseAll(): Promise<void> {
    return CancellationScope.nonCancellable(() => this.send({ holder: this.holder, releaseAll: true }));
  }
}
