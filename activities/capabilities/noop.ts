import { z } from 'zod';
import { defineBuiltIn } from './define';

/** Does nothing: the floor for measuring what routing, auditing and the DAG cost (bench/suites/routing-overhead.ts). */
export const noop = defineBuiltIn('noop', {
  version: '1.0.0',
  input: z.record(z.string(), z.unknown()),
  output: z.object({ ok: z.literal(true) }),
  handler: async () => ({ ok: true as const }),
});
