import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, so that the Web UI and `ados pending` can filter runs.
 * They are registered on the namespace at start-up (workers/search-attributes.ts).
 */
export const AdosTenant = defineSearchAttributeKey('AdosTenant', SearchAttributeType.KEYWORD);
export const AdosKind = defineSearchAttributeKey('AdosKind', SearchAttributeType.KEYWORD);
export const AdosStage = defineSearchAttributeKey('AdosStage', SearchAttributeType.KEYWORD);
export const AdosAwaitingApproval = defineSearchAttributeKey('AdosAwaitingApproval', SearchAttributeType.BOOL);

export const ADOS_SEARCH_ATTRIBUTES = [AdosTenant, AdosKind, AdosStage, AdosAwaitingApproval] as const;

export type WorkKind = 'delivery' | 'extraction' | 'runtime' | 'anomaly' | 'learning';
