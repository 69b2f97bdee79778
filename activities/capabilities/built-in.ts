import type { CapabilityDefinition } from './define';

/**
 * The built-in capabilities declared with defineCapability (each in its own file here), served by a capability
 * worker through runCapability. Their routing specs are the entries of the same name in
 * shared/contract/capabilities.ts, which their `defaults` come from.
 */
export const BUILT_IN_DEFINITIONS: readonly CapabilityDefinition<any, any>[] = [];
