/**
 * The activities of the capability queues: every capability's handler, whichever kind it comes from (the built-in
 * ones in capabilities/, `extract` in extraction/), wrapped as the activity its queue serves.
 */
import { Context } from '@temporalio/activity';
import type { BuiltInCapability } from '../shared/contract/capabilities';
import type { CapabilityRequest, CapabilityResult } from '../shared/contract/delivery/capability-io';
import { analysis } from './capabilities/analysis';
import { batch } from './capabilities/batch';
import { build } from './capabilities/build';
import type { CapabilityDeps, CapabilityHandler } from './capabilities/capability';
import { deploy } from './capabilities/deploy';
import { generation, generationFallback } from './capabilities/generation';
import { noop } from './capabilities/noop';
import { verify } from './capabilities/verify';
import { extract } from './extraction/capability';
import { createExtractionWorkerActivities } from './extraction/extract';

/** One line per capability; the type makes a registry entry without a handler a compile error. */
export const CAPABILITY_HANDLERS: Record<BuiltInCapability, CapabilityHandler> = {
  build,
  deploy,
  verify,
  analysis,
  generation,
  'generation.fallback': generationFallback,
  noop,
  extract,
  batch,
};

/**
 * Activities a capability's queue serves besides its plan-task activity: `extract` also serves
 * `extractAgent`, the per-agent activity of the schemaExtraction workflow.
 */
const EXTRA_ACTIVITIES: Partial<Record<BuiltInCapability, (deps: CapabilityDeps & { workerIdentity: string }) => Record<string, (...args: never[]) => Promise<unknown>>>> = {
  extract: (deps) => createExtractionWorkerActivities(deps),
};

export type CapabilityActivity = (request: CapabilityRequest) => Promise<CapabilityResult>;

/**
 * Activities for the capabilities one worker serves, named after the capability so the Web UI
 * shows "build" on queue ados.cap.build.
 */
export function createCapabilityActivities(
  capability: string,
  deps: CapabilityDeps & { workerIdentity: string },
): Record<string, CapabilityActivity> {
  const handler = (CAPABILITY_HANDLERS as Record<string, CapabilityHandler>)[capability];
  if (!handler) {
    throw new Error(`no handler for capability "${capability}"; known: ${Object.keys(CAPABILITY_HANDLERS).join(', ')}`);
  }
  const extra = EXTRA_ACTIVITIES[capability as BuiltInCapability]?.(deps) ?? {};
  return {
    // Registered beside the plan-task activity; workflows call them by name through their own types.
    ...(extra as Record<string, CapabilityActivity>),
    [capability]: async (request) => {
      const { attempt } = Context.current().info;
      const output = await handler(request, deps);
      return { output, worker: deps.workerIdentity, attempt };
    },
  };
}
