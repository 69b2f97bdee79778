/**
 * The activities of the capability queues: every capability's definition, whichever kind it comes from (the built-in
 * ones in capabilities/, `extract` in extraction/, a plugin from a worker's `--capability-module`), run by
 * runCapability as the activity its queue serves.
 */
import type { CapabilityRequest, CapabilityResult } from '../shared/contract/delivery/capability-io';
import { listNames } from '../shared/contract/validation';
import { BUILT_IN_DEFINITIONS } from './capabilities/built-in';
import type { CapabilityDefinition } from './capabilities/define';
import { runCapability, type CapabilityHostDeps } from './capabilities/run-capability';
import { createPipelineProcessActivities } from './anomaly/pipeline-process';
import { extract } from './extraction/capability';
import { createExtractionWorkerActivities } from './extraction/extract';
import { createRemediationProcessActivities } from './remediation/process-actions';

/** Every built-in capability's definition: BUILT_IN_DEFINITIONS plus the ones that live with their kind. */
export const BUILT_INS: readonly CapabilityDefinition<any, any>[] = [...BUILT_IN_DEFINITIONS, extract];

/**
 * Activities a capability's queue serves besides its plan-task activity: `extract` also serves
 * `extractAgent`, the per-agent activity of the schemaExtraction workflow; `deploy.process` the remediationRun's
 * actions on the services it deployed (activities/remediation/process-actions.ts) and the anomalyPipeline's on its
 * handlers (activities/anomaly/pipeline-process.ts).
 */
const EXTRA_ACTIVITIES: Record<string, (deps: CapabilityHostDeps) => Record<string, (...args: never[]) => Promise<unknown>>> = {
  extract: (deps) => createExtractionWorkerActivities(deps),
  'deploy.process': (deps) => ({ ...createRemediationProcessActivities(), ...createPipelineProcessActivities(deps) }),
};

export type CapabilityActivity = (request: CapabilityRequest) => Promise<CapabilityResult>;

/**
 * Activities for one capability a worker serves, named after the capability so the Web UI shows "build" on queue
 * ados.cap.build. `plugins` are the definitions the worker loaded besides the built-ins.
 */
export function createCapabilityActivities(
  capability: string,
  deps: CapabilityHostDeps,
  plugins: readonly CapabilityDefinition<any, any>[] = [],
): Record<string, CapabilityActivity> {
  const definition = [...BUILT_INS, ...plugins].find((d) => d.name === capability);
  if (!definition) {
    throw new Error(`no definition for capability "${capability}"; known: ${listNames([...BUILT_INS, ...plugins].map((d) => d.name))}`);
  }
  const extra = Object.prototype.hasOwnProperty.call(EXTRA_ACTIVITIES, capability) ? EXTRA_ACTIVITIES[capability](deps) : {};
  return {
    // Registered beside the plan-task activity; workflows call them by name through their own types.
    ...(extra as Record<string, CapabilityActivity>),
    [capability]: (request) => runCapability(definition, request, deps),
  };
}
