/**
 * `capability_registrations` (migration 0004): what each capability worker serves, written by the worker at start
 * and refreshed while it runs, read by clients (plan validation, `ados capabilities`). One home for the table.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import { capabilitySpecSchema } from '../../contract/capability-spec';
import type { CapabilitySpec } from '../../contract/capabilities';
import type { Db } from '../db';

/** One capability one worker serves. */
export interface CapabilityRegistration {
  capability: string;
  worker: string;
  version: string;
  taskQueue: string;
  /** `built-in`, or the module the worker loaded it from. */
  source: string;
  spec: CapabilitySpec;
  /** JSON Schema of the task input (as given, defaults optional), derived from the capability's zod schema. */
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
}

/** A registration as read back, with when it was first written and last refreshed. */
export interface StoredRegistration extends CapabilityRegistration {
  registeredAt: string;
  lastSeenAt: string;
}

/** How often a running worker refreshes its registrations' last_seen_at. */
export const REGISTRATION_REFRESH_MS = 30_000;

/** Writes (or refreshes) registrations, one per capability and worker; last_seen_at becomes now. */
export async function upsertRegistrations(db: Db, registrations: readonly CapabilityRegistration[]): Promise<void> {
  if (registrations.length === 0) return;
  await db
    .insertInto('capability_registrations')
    .values(
      registrations.map((r) => ({
        capability: r.capability,
        worker: r.worker,
        version: r.version,
        task_queue: r.taskQueue,
        source: r.source,
        spec: JSON.stringify(r.spec),
        input_schema: JSON.stringify(r.inputSchema),
        output_schema: JSON.stringify(r.outputSchema),
      })),
    )
    .onConflict((oc) =>
      oc.columns(['capability', 'worker']).doUpdateSet((eb) => ({
        version: eb.ref('excluded.version'),
        task_queue: eb.ref('excluded.task_queue'),
        source: eb.ref('excluded.source'),
        spec: eb.ref('excluded.spec'),
        input_schema: eb.ref('excluded.input_schema'),
        output_schema: eb.ref('excluded.output_schema'),
        last_seen_at: sql<Date>`clock_timestamp()`,
      })),
    )
    .execute();
}

const jsonObject = z.record(z.string(), z.unknown());
const storedRow = z.object({
  capability: z.string(),
  worker: z.string(),
  version: z.string(),
  task_queue: z.string(),
  source: z.string(),
  spec: capabilitySpecSchema,
  input_schema: jsonObject,
  output_schema: jsonObject,
  registered_at: z.date(),
  last_seen_at: z.date(),
});

/** Every registration, most recently seen first; a row the table holds in a shape this ADOS refuses is reported. */
export async function listRegistrations(db: Db): Promise<StoredRegistration[]> {
  const rows = await db.selectFrom('capability_registrations').selectAll().orderBy('last_seen_at', 'desc').orderBy('capability').execute();
  return rows.map((row) => {
    const parsed = storedRow.safeParse(row);
    if (!parsed.success) {
      throw new Error(`capability_registrations row (${row.capability}, ${row.worker}) is malformed: ${z.prettifyError(parsed.error)}`);
    }
    const r = parsed.data;
    return {
      capability: r.capability,
      worker: r.worker,
      version: r.version,
      taskQueue: r.task_queue,
      source: r.source,
      spec: r.spec,
      inputSchema: r.input_schema,
      outputSchema: r.output_schema,
      registeredAt: r.registered_at.toISOString(),
      lastSeenAt: r.last_seen_at.toISOString(),
    };
  });
}
