import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import type { temporal } from '@temporalio/proto';
import { ADOS_SEARCH_ATTRIBUTES } from '../shared/contract/search-attributes';

type IndexedValueType = temporal.api.enums.v1.IndexedValueType;

interface OperatorServiceLike {
  listSearchAttributes(request: { namespace: string }): Promise<{ customAttributes?: Record<string, unknown> | null }>;
  addSearchAttributes(request: { namespace: string; searchAttributes: Record<string, IndexedValueType> }): Promise<unknown>;
}

/**
 * Registers AdosTenant, AdosKind, AdosStage and AdosAwaitingApproval on the namespace, when
 * missing, so that workflows can upsert them and the Web UI can filter by them. Idempotent.
 */
export async function ensureSearchAttributes(operatorService: OperatorServiceLike, namespace: string): Promise<string[]> {
  const { customAttributes } = await operatorService.listSearchAttributes({ namespace });
  const existing = new Set(Object.keys(customAttributes ?? {}));
  const missing = ADOS_SEARCH_ATTRIBUTES.filter((key) => !existing.has(key.name));
  if (missing.length === 0) return [];
  try {
    await operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type) as IndexedValueType])),
    });
  } catch (error) {
    // Another process registered them first.
    if (!/already exists/i.test((error as Error).message)) throw error;
  }
  return missing.map((key) => key.name);
}
