/**
 * What capabilities a client knows: the built-ins (shared/contract/capabilities.ts) and the ones workers have
 * registered in PostgreSQL (capability_registrations), plugins included. Plan validation before a run starts uses
 * them (a plugin's spec goes into the run's input; every task input is checked against its capability's input JSON
 * Schema), and `ados capabilities` lists them with who serves them.
 */
import { capabilitySpec, KNOWN_CAPABILITIES } from '../shared/contract/capabilities';
import { lookupAlternates, type PluginSpecs } from '../shared/contract/capability-spec';
import { validateDeliveryRunInput, type DeliveryRun } from '../shared/contract/delivery/input';
import { taskInputIssues } from '../shared/contract/delivery/task-inputs';
import { capabilityTaskQueue } from '../shared/contract/task-queues';
import { InputValidationError, type ValidationIssue } from '../shared/contract/validation';
import { listRegistrations, REGISTRATION_REFRESH_MS, type StoredRegistration } from '../shared/node/capabilities/registrations';
import type { AdosConfig } from '../shared/node/config';
import { openDatabase } from '../shared/node/db';

/** The registrations in the database DATABASE_URL names; undefined when it is not set. */
export async function readRegistrations(config: Pick<AdosConfig, 'databaseUrl'>): Promise<StoredRegistration[] | undefined> {
  if (!config.databaseUrl) return undefined;
  const database = await openDatabase(config.databaseUrl, { poolSize: 1 });
  try {
    return await listRegistrations(database.db);
  } finally {
    await database.close();
  }
}

/** The most recently seen registration of each capability (registrations come most recent first). */
function latestByCapability(registrations: readonly StoredRegistration[]): Map<string, StoredRegistration> {
  const latest = new Map<string, StoredRegistration>();
  for (const registration of registrations) if (!latest.has(registration.capability)) latest.set(registration.capability, registration);
  return latest;
}

const NO_REGISTRATIONS_HINT = "; plugin capabilities are known from their workers' registrations: set DATABASE_URL";

/**
 * A delivery run request made ready to start: validated against the built-in and registered capabilities (an unknown
 * one is refused with the known ones listed), with the specs of the plugin capabilities its plan names (and their
 * alternates) in `capabilities`, and every task input checked against its capability's registered input schema.
 * `registrations` undefined: none could be read (no DATABASE_URL). Throws InputValidationError with every issue.
 */
export function prepareDeliveryRun(raw: unknown, registrations: readonly StoredRegistration[] | undefined): DeliveryRun {
  const latest = latestByCapability(registrations ?? []);
  const plugins: Record<string, StoredRegistration['spec']> = {};
  const named = planCapabilities(raw);
  for (let i = 0; i < named.length; i++) {
    const name = named[i];
    const registered = latest.get(name);
    if (capabilitySpec(name) || !registered || plugins[name]) continue;
    plugins[name] = registered.spec;
    for (const alternate of lookupAlternates(name, plugins as PluginSpecs)) if (!named.includes(alternate)) named.push(alternate);
  }
  const given = (raw as { capabilities?: Record<string, unknown> } | null)?.capabilities;
  const input = Object.keys(plugins).length > 0 ? { ...(raw as object), capabilities: { ...given, ...plugins } } : raw;
  const known = [...KNOWN_CAPABILITIES, ...[...latest.keys()].filter((name) => !capabilitySpec(name))];
  const checked = validateDeliveryRunInput(input, known);
  if (!checked.ok) {
    const issues = registrations === undefined ? checked.issues.map(withRegistrationsHint) : checked.issues;
    throw new InputValidationError('delivery run', issues);
  }
  const schemas = Object.fromEntries([...latest].map(([name, registration]) => [name, registration.inputSchema]));
  const inputIssues = taskInputIssues(checked.value.plan.tasks, schemas);
  if (inputIssues.length > 0) throw new InputValidationError('delivery run', inputIssues);
  return checked.value;
}

/** The capability names a (not yet validated) request's plan tasks give. */
function planCapabilities(raw: unknown): string[] {
  const tasks = (raw as { plan?: { tasks?: unknown } } | null)?.plan?.tasks;
  if (!Array.isArray(tasks)) return [];
  return [...new Set(tasks.map((task) => (task as { capability?: unknown } | null)?.capability).filter((c): c is string => typeof c === 'string'))];
}

function withRegistrationsHint(issue: ValidationIssue): ValidationIssue {
  return /^plan\.tasks\[\d+\]\.capability$/.test(issue.path) && issue.message.startsWith('unknown capability')
    ? { ...issue, message: `${issue.message}${NO_REGISTRATIONS_HINT}` }
    : issue;
}

/** One worker's registration of a capability, as `ados capabilities` shows it. */
export interface CapabilityServer {
  worker: string;
  version: string;
  source: string;
  registeredAt: string;
  lastSeenAt: string;
  /** Not refreshed for three refresh intervals: the worker is probably gone. */
  stale: boolean;
}

export interface CapabilityListing {
  name: string;
  builtIn: boolean;
  description: string;
  taskQueue: string;
  alternates: string[];
  /** The workers that registered it (most recently seen first); empty for a built-in nobody registered. */
  servedBy: CapabilityServer[];
  /** Its input JSON Schema, from the most recent registration. */
  inputSchema?: Record<string, unknown>;
}

export interface CapabilitiesReport {
  /** Whether registrations were read (DATABASE_URL set). */
  registrationsRead: boolean;
  capabilities: CapabilityListing[];
  notes: string[];
}

const STALE_AFTER_MS = 3 * REGISTRATION_REFRESH_MS;

/** Built-in capabilities, then registered plugins, each with the workers that registered it (pure; `now` for staleness). */
export function capabilitiesReport(
  registrations: readonly StoredRegistration[] | undefined,
  taskQueuePrefix: string,
  now: number,
): CapabilitiesReport {
  const byName = new Map<string, StoredRegistration[]>();
  for (const registration of registrations ?? []) byName.set(registration.capability, [...(byName.get(registration.capability) ?? []), registration]);
  const names = [...KNOWN_CAPABILITIES, ...[...byName.keys()].filter((name) => !capabilitySpec(name)).sort()];
  const capabilities = names.map((name): CapabilityListing => {
    const rows = byName.get(name) ?? [];
    const spec = capabilitySpec(name) ?? rows[0].spec;
    return {
      name,
      builtIn: capabilitySpec(name) !== undefined,
      description: spec.description,
      taskQueue: capabilityTaskQueue(name, taskQueuePrefix),
      alternates: [...(spec.alternates ?? [])],
      servedBy: rows.map((r) => ({
        worker: r.worker,
        version: r.version,
        source: r.source,
        registeredAt: r.registeredAt,
        lastSeenAt: r.lastSeenAt,
        stale: now - Date.parse(r.lastSeenAt) > STALE_AFTER_MS,
      })),
      ...(rows[0] ? { inputSchema: rows[0].inputSchema } : {}),
    };
  });
  return {
    registrationsRead: registrations !== undefined,
    capabilities,
    notes:
      registrations === undefined
        ? ['registrations not read: set DATABASE_URL to list plugin capabilities and the workers that serve each']
        : [`a registration not refreshed for ${STALE_AFTER_MS / 1000}s is marked stale (workers refresh theirs every ${REGISTRATION_REFRESH_MS / 1000}s)`],
  };
}

/** `ados capabilities`: what the built-ins and the registrations say (reads PostgreSQL when DATABASE_URL is set). */
export async function listCapabilities(config: Pick<AdosConfig, 'databaseUrl' | 'taskQueuePrefix'>): Promise<CapabilitiesReport> {
  return capabilitiesReport(await readRegistrations(config), config.taskQueuePrefix, Date.now());
}

/** The text `ados capabilities` prints (pure). */
export function formatCapabilities(report: CapabilitiesReport): string {
  const lines: string[] = [];
  for (const capability of report.capabilities) {
    const kind = capability.builtIn ? 'built-in' : `plugin ${capability.servedBy[0]?.version ?? ''} from ${capability.servedBy[0]?.source ?? '?'}`;
    const alternates = capability.alternates.length > 0 ? `; alternates: ${capability.alternates.join(', ')}` : '';
    lines.push(`${capability.name}  (${kind}, queue ${capability.taskQueue}${alternates})`, `  ${capability.description}`);
    for (const server of capability.servedBy) {
      lines.push(`  served by ${server.worker}  v${server.version}  last seen ${server.lastSeenAt}${server.stale ? ' (stale)' : ''}`);
    }
    if (report.registrationsRead && capability.servedBy.length === 0) lines.push('  served by: no registered worker');
  }
  return [...lines, '', ...report.notes.map((note) => `note: ${note}`)].join('\n');
}
