/**
 * Capability specs as data: the shape a plugin capability's routing spec has when it travels (a worker's registration
 * in PostgreSQL, a delivery run's input), and the lookups that treat built-ins and a run's plugins alike. Bundle-safe.
 */
import { z } from 'zod';
import { capabilitySpec, type CapabilitySpec } from './capabilities';

/** Capability names: lowercase words joined by `.`, `-` or `_` (they become task queue names and activity types). */
export const CAPABILITY_NAME = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

export const CAPABILITY_NAME_HINT = 'lowercase words joined by ".", "-" or "_", e.g. "deploy.process"';

const wholeSeconds = z.number().int('whole seconds').positive('whole seconds, more than 0');

/** A CapabilitySpec, checked: what a registration or a run's input may carry for a plugin. */
export const capabilitySpecSchema = z.object({
  description: z.string(),
  startToCloseTimeoutSeconds: wholeSeconds,
  heartbeatTimeoutSeconds: wholeSeconds,
  scheduleToStartTimeoutSeconds: wholeSeconds.optional(),
  retry: z.object({
    maximumAttempts: z.number().int().min(1, 'at least 1'),
    initialIntervalSeconds: z.number().positive(),
    backoffCoefficient: z.number().min(1, 'at least 1'),
    maximumIntervalSeconds: z.number().positive(),
  }),
  alternates: z.array(z.string().regex(CAPABILITY_NAME, CAPABILITY_NAME_HINT)).optional(),
}) satisfies z.ZodType<CapabilitySpec>;

/** Plugin capabilities' specs by name, as a delivery run carries them (`DeliveryRunInput.capabilities`). */
export type PluginSpecs = Readonly<Record<string, CapabilitySpec>>;

/** The spec of a built-in capability, or of one of `plugins`. */
export function lookupCapability(name: string, plugins?: PluginSpecs): CapabilitySpec | undefined {
  return capabilitySpec(name) ?? (plugins && Object.prototype.hasOwnProperty.call(plugins, name) ? plugins[name] : undefined);
}

/** The alternate variants of a built-in or plugin capability, in the order the agent-swap rung tries them. */
export function lookupAlternates(name: string, plugins?: PluginSpecs): readonly string[] {
  return lookupCapability(name, plugins)?.alternates ?? [];
}
