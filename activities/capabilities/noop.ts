import { z } from 'zod';
import { CAPABILITIES } from '../../shared/contract/capabilities';
import { defineCapability } from './define';

/** Does nothing: the floor for measuring what routing, auditing and the DAG cost (bench/suites/routing-overhead.ts). */
export const noop = defineCapability({
  name: 'noop',
  version: '1.0.0',
  description: CAPABILITIES.noop.description,
  input: z.record(z.string(), z.unknown()),
  output: z.object({ ok: z.literal(true) }),
  defaults: CAPABILITIES.noop,
  handler: async () => ({ ok: true as const }),
});
