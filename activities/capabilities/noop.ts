import type { CapabilityHandler } from './capability';

/** Does nothing: the floor for measuring what routing, auditing and the DAG cost (bench/suites/routing-overhead.ts). */
export const noop: CapabilityHandler = async () => ({ ok: true });
