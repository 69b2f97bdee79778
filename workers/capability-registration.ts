/**
 * What a capability worker tells PostgreSQL it serves (capability_registrations): at start, then every
 * REGISTRATION_REFRESH_MS while it runs (last_seen_at), so that clients know plugin capabilities, their specs and
 * their input schemas, and `ados capabilities` shows who serves what.
 */
import { z } from 'zod';
import type { CapabilityDefinition } from '../activities/capabilities/define';
import { specOf } from '../activities/capabilities/define';
import { capabilityTaskQueue } from '../shared/contract/task-queues';
import { REGISTRATION_REFRESH_MS, upsertRegistrations, type CapabilityRegistration } from '../shared/node/capabilities/registrations';
import type { Db } from '../shared/node/db';
import type { Logger } from '../shared/node/logger';

/** A served definition and where it comes from (`built-in`, or the plugin module). */
export interface ServedCapability {
  definition: CapabilityDefinition<any, any>;
  source: string;
}

/** A zod schema as JSON Schema; parts JSON Schema cannot say (a custom check, a transform) become `{}` (anything). */
const jsonSchemaOf = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;

/** The registrations of what one worker serves (pure). */
export function registrationsOf(served: readonly ServedCapability[], worker: string, taskQueuePrefix: string): CapabilityRegistration[] {
  return served.map(({ definition, source }) => ({
    capability: definition.name,
    worker,
    version: definition.version,
    taskQueue: capabilityTaskQueue(definition.name, taskQueuePrefix),
    source,
    spec: specOf(definition),
    inputSchema: jsonSchemaOf(definition.input, 'input'),
    outputSchema: jsonSchemaOf(definition.output, 'output'),
  }));
}

/** The first retry after a failed write; doubled after each further failure, up to the refresh interval. */
const FIRST_RETRY_MS = 500;

/**
 * Writes the registrations now and refreshes them every `everyMs` until the returned stop is called. A failed write
 * (e.g. the control worker has not migrated the database yet) is logged and retried soon, backing off up to
 * `everyMs`: serving tasks does not depend on it, only clients' knowledge of what is served.
 */
export function keepRegistered(db: Db, registrations: CapabilityRegistration[], logger: Logger, everyMs = REGISTRATION_REFRESH_MS): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let registered = false;
  let retryMs = FIRST_RETRY_MS;
  const write = async () => {
    let next = everyMs;
    try {
      await upsertRegistrations(db, registrations);
      if (!registered) logger.info({ capabilities: registrations.map((r) => r.capability) }, 'capabilities registered');
      registered = true;
      retryMs = FIRST_RETRY_MS;
    } catch (error) {
      logger.warn({ err: error, retryInMs: retryMs }, 'writing the capability registrations failed; retrying');
      next = retryMs;
      retryMs = Math.min(retryMs * 2, everyMs);
    }
    if (!stopped) {
      timer = setTimeout(() => void write(), next);
      timer.unref();
    }
  };
  void write();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
