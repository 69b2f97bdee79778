/**
 * Readable workflow IDs (`delivery-<tenant>-<run>`), so that the Web UI and the CLI work with IDs a
 * person can type. The ID is also the idempotency key of a run: Temporal refuses a second running
 * workflow with the same ID. Tenant IDs carry no dash, which keeps every ID parseable.
 */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_]{0,62}$/;
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function deliveryWorkflowId(tenantId: string, runId: string): string {
  return `delivery-${tenantId}-${runId}`;
}

export interface DeliveryWorkflowIdParts {
  tenantId: string;
  runId: string;
}

export function parseDeliveryWorkflowId(workflowId: string): DeliveryWorkflowIdParts | undefined {
  const match = /^delivery-([^-]+)-(.+)$/.exec(workflowId);
  if (!match) return undefined;
  const [, tenantId, runId] = match;
  if (!TENANT_ID_PATTERN.test(tenantId) || !RUN_ID_PATTERN.test(runId)) return undefined;
  return { tenantId, runId };
}
