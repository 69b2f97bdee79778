/**
 * Custom search attributes, so that the Web UI and `ados pending` can filter runs.
 * They are registered on the namespace at start-up (workers/search-attributes.ts).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** The tenant a run belongs to. */
export const AdosTenant = defineSearchAttributeKey('AdosTenant', SearchAttributeType.KEYWORD);
/** The kind of work: `delivery`, `extraction`. */
export const AdosKind = defineSearchAttributeKey('AdosKind', SearchAttributeType.KEYWORD);
/** Where the run is (its stage in the status query). */
export const AdosStage = defineSearchAttributeKey('AdosStage', SearchAttributeType.KEYWORD);
/** True while the run waits for a human: an approval, or an escalated task. */
export const AdosAwaitingApproval = defineSearchAttributeKey('AdosAwaitingApproval', SearchAttributeType.BOOL);

export const ADOS_SEARCH_ATTRIBUTES = [AdosTenant, AdosKind, AdosStage, AdosAwaitingApproval] as const;
