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
import { BUILT_IN_DEFINITIONS } from './capabilities/built-in';
import type { CapabilityDeps, CapabilityHandler } from './capabilities/capability';
import { deploy } from './capabilities/deploy';
import { generation, generationFallback } from './capabilities/generation';
import { noop } from './capabilities/noop';
import { runCapability } from './capabilities/run-capability';
import { verify } from './capabilities/verify';
import { extract } from './extraction/capability';
import { createExtractionWorkerActivities } from './extraction/extract';

/**
 * Handlers of the built-in capabilities not (yet) declared with defineCapability; with BUILT_IN_DEFINITIONS, one
 * entry per registry entry (the type makes a registry entry with neither a compile error).
 */
export const CAPABILITY_HANDLERS: Record<Exclude<BuiltInCapability, (typeof BUILT_IN_DEFINITIONS)[number]['name'] & BuiltInCapability>, CapabilityHandler> = {
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
  deps: CapabilityDeps & { workerIdentity: string; workspaceRoot: string },
): Record<string, CapabilityActivity> {
  const definition = BUILT_IN_DEFINITIONS.find((d) => d.name === capability);
  if (definition) return { [capability]: (request) => runCapability(definition, request, deps) };
  const handler = (CAPABILITY_HANDLERS as Record<string, CapabilityHandler>)[capability];
  if (!handler) {
    const known = [...Object.keys(CAPABILITY_HANDLERS), ...BUILT_IN_DEFINITIONS.map((d) => d.name)];
    throw new Error(`no handler for capability "${capability}"; known: ${known.join(', ')}`);
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
