/**
 * A holder of the tenant gate that does nothing but acquire and release (bench/suites/semaphore-throughput.ts): it
 * signals the gate directly (the gate runs already) and waits for each grant, `cycles` times.
 */
import { condition, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import { RUNS_RESOURCE, tenantGateRequestSignal, tenantSlotsGrantedSignal } from '../../shared/contract/tenancy/gate';

export interface GateHolderInput {
  gateWorkflowId: string;
  cycles: number;
}

export async function gateHolder(input: GateHolderInput): Promise<void> {
  const granted = new Set<string>();
  setHandler(tenantSlotsGrantedSignal, ({ requestIds }) => {
    for (const id of requestIds) granted.add(id);
  });
  const { workflowId, runId } = workflowInfo();
  const holder = { workflowId, runId };
  const gate = getExternalWorkflowHandle(input.gateWorkflowId);
  for (let i = 0; i < input.cycles; i++) {
    const requestId = `cycle-${i}`;
    await gate.signal(tenantGateRequestSignal, { holder, acquire: [{ requestId, resource: RUNS_RESOURCE }] });
    await condition(() => granted.has(requestId));
    await gate.signal(tenantGateRequestSignal, { holder, release: [requestId] });
  }
}
