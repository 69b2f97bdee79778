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

/** Schema extraction runs: `extraction-<tenant>-<set>-<hash8>`, hash8 from the set's canonical content. */
export const EXTRACTION_SET_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function extractionWorkflowId(tenantId: string, setName: string, hash8: string): string {
  return `extraction-${tenantId}-${setName}-${hash8}`;
}

export interface ExtractionWorkflowIdParts {
  tenantId: string;
  setName: string;
  hash8: string;
}

export function parseExtractionWorkflowId(workflowId: string): ExtractionWorkflowIdParts | undefined {
  const match = /^extraction-([^-]+)-(.+)-([0-9a-f]{8})$/.exec(workflowId);
  if (!match) return undefined;
  const [, tenantId, setName, hash8] = match;
  if (!TENANT_ID_PATTERN.test(tenantId) || !EXTRACTION_SET_PATTERN.test(setName)) return undefined;
  return { tenantId, setName, hash8 };
}
