/**
 * Plugin capabilities without servers: a run's `capabilities` specs in validation, task inputs checked against
 * registered JSON Schemas (with the JSON path), the client's preparation of a run from registrations, `ados
 * capabilities` formatting, the worker's reading of a module's exports, and its registration rows.
 */
import { z } from 'zod';
import { capabilitiesReport, formatCapabilities, prepareDeliveryRun } from '../../client/capabilities';
import { defineCapability } from '../../activities/capabilities/define';
import { DEFAULT_RETRY, type CapabilitySpec } from '../../shared/contract/capabilities';
import { lookupAlternates } from '../../shared/contract/capability-spec';
import { validateDeliveryRunInput } from '../../shared/contract/delivery/input';
import { taskInputIssues } from '../../shared/contract/delivery/task-inputs';
import { InputValidationError } from '../../shared/contract/validation';
import type { StoredRegistration } from '../../shared/node/capabilities/registrations';
import { definitionsOf } from '../../workers/capability-modules';
import { registrationsOf } from '../../workers/capability-registration';

const greet = defineCapability({
  name: 'team.greet',
  version: '1.2.0',
  description: 'Says hello',
  input: z.object({ who: z.string().min(1), times: z.number().int().min(1).default(1), tags: z.array(z.string()).default([]) }),
  output: z.object({ text: z.string() }),
  defaults: { startToCloseTimeoutSeconds: 30, heartbeatTimeoutSeconds: 5 },
  fallback: ['team.greet.slow'],
  handler: async ({ who }) => ({ text: `hello ${who}` }),
});
const slow = defineCapability({ ...greet, name: 'team.greet.slow', fallback: undefined, handler: greet.handler });

const spec = (overrides: Partial<CapabilitySpec> = {}): CapabilitySpec => ({
  description: 'x',
  startToCloseTimeoutSeconds: 30,
  heartbeatTimeoutSeconds: 5,
  retry: DEFAULT_RETRY,
  ...overrides,
});

const run = (tasks: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) => ({
  tenantId: 'acme',
  runId: 'r1',
  requestedBy: 'carol',
  goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 },
  environments: ['dev'],
  plan: { tasks },
  ...extra,
});

const registrations: StoredRegistration[] = registrationsOf(
  [
    { definition: greet, source: 'caps/greet.ts' },
    { definition: slow, source: 'caps/greet.ts' },
  ],
  'w1',
  'ados',
).map((r) => ({ ...r, registeredAt: '2026-11-22T06:00:00.000Z', lastSeenAt: '2026-11-22T06:00:00.000Z' }));

describe('a run with plugin capabilities', () => {
  it('accepts a task whose capability is in the run\'s capabilities, and lists it among the known ones otherwise', () => {
    expect(validateDeliveryRunInput(run([{ id: 'hi', capability: 'team.greet' }], { capabilities: { 'team.greet': spec() } })).ok).toBe(true);
    const refused = validateDeliveryRunInput(run([{ id: 'hi', capability: 'team.greeet' }], { capabilities: { 'team.greet': spec() } }), ['build']);
    expect(refused.ok ? [] : refused.issues).toEqual([{ path: 'plan.tasks[0].capability', message: 'unknown capability "team.greeet"; known: build, team.greet' }]);
  });

  it('refuses a built-in in capabilities, an unknown alternate, and a heartbeat not shorter than the plugin\'s attempt', () => {
    const result = validateDeliveryRunInput(
      run([{ id: 'hi', capability: 'team.greet', heartbeatTimeoutSeconds: 30 }], {
        capabilities: { build: spec(), 'team.greet': spec({ alternates: ['team.nowhere'] }) },
      }),
    );
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(['capabilities.build', 'capabilities.team.greet.alternates[0]', 'plan.tasks[0].heartbeatTimeoutSeconds']);
    expect(lookupAlternates('team.greet', { 'team.greet': spec({ alternates: ['build'] }) })).toEqual(['build']);
  });
});

describe('task inputs against registered schemas', () => {
  const schemas = Object.fromEntries(registrations.map((r) => [r.capability, r.inputSchema]));

  it('names each bad field by its JSON path under plan.tasks[i].input; defaults make fields optional', () => {
    const tasks = [
      { capability: 'team.greet', input: { who: 'ann' } },
      { capability: 'team.greet', input: { who: 3, tags: ['a', 7] } },
      { capability: 'build', input: { anything: true } },
    ];
    expect(taskInputIssues(tasks, schemas)).toEqual([
      { path: 'plan.tasks[1].input.who', message: 'Invalid input: expected string, received number (capability team.greet)' },
      { path: 'plan.tasks[1].input.tags[1]', message: 'Invalid input: expected string, received number (capability team.greet)' },
    ]);
    expect(taskInputIssues([{ capability: 'team.greet', input: {} }], schemas)).toEqual([
      { path: 'plan.tasks[0].input.who', message: expect.stringContaining('(capability team.greet)') },
    ]);
  });
});

describe('prepareDeliveryRun (the client, before a run starts)', () => {
  it('puts the specs of the plan\'s plugins and their alternates in the run\'s capabilities', () => {
    const prepared = prepareDeliveryRun(run([{ id: 'hi', capability: 'team.greet', input: { who: 'ann' } }]), registrations);
    expect(Object.keys(prepared.capabilities ?? {})).toEqual(['team.greet', 'team.greet.slow']);
    expect(prepared.capabilities!['team.greet']).toMatchObject({ startToCloseTimeoutSeconds: 30, heartbeatTimeoutSeconds: 5, alternates: ['team.greet.slow'] });
  });

  it('leaves a plan of built-ins as it is, and refuses a bad plugin input with its path', () => {
    expect(prepareDeliveryRun(run([{ id: 'b', capability: 'build' }]), registrations).capabilities).toBeUndefined();
    expect(() => prepareDeliveryRun(run([{ id: 'hi', capability: 'team.greet', input: { who: '' } }]), registrations)).toThrow(
      /plan\.tasks\[0\]\.input\.who: .*\(capability team\.greet\)/,
    );
  });

  it('without registrations a plugin is unknown, and the message says where plugins come from', () => {
    let error: unknown;
    try {
      prepareDeliveryRun(run([{ id: 'hi', capability: 'team.greet' }]), undefined);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputValidationError);
    expect((error as InputValidationError).issues).toEqual([
      { path: 'plan.tasks[0].capability', message: expect.stringMatching(/^unknown capability "team.greet"; known: build, .*; plugin capabilities are known from their workers' registrations: set DATABASE_URL$/) },
    ]);
  });
});

describe('ados capabilities', () => {
  it('lists the built-ins, then the plugins with who registered them; stale after three missed refreshes', () => {
    const report = capabilitiesReport(registrations, 'ados', Date.parse('2026-11-22T06:01:00.000Z'));
    const plugin = report.capabilities.find((c) => c.name === 'team.greet')!;
    expect(plugin).toMatchObject({ builtIn: false, taskQueue: 'ados.cap.team.greet', alternates: ['team.greet.slow'], servedBy: [{ worker: 'w1', version: '1.2.0', source: 'caps/greet.ts', stale: false }] });
    expect(capabilitiesReport(registrations, 'ados', Date.parse('2026-11-22T06:01:31.000Z')).capabilities.find((c) => c.name === 'team.greet')!.servedBy[0].stale).toBe(true);
    expect(report.capabilities[0]).toMatchObject({ name: 'build', builtIn: true, servedBy: [] });
    const text = formatCapabilities(report);
    expect(text).toContain('team.greet  (plugin 1.2.0 from caps/greet.ts, queue ados.cap.team.greet; alternates: team.greet.slow)\n  Says hello\n  served by w1  v1.2.0  last seen 2026-11-22T06:00:00.000Z');
    expect(text).toContain('build  (built-in, queue ados.cap.build)\n  Render an artifact from a template and content-hash it\n  served by: no registered worker');
    expect(formatCapabilities(capabilitiesReport(undefined, 'ados', 0))).toContain('note: registrations not read: set DATABASE_URL');
  });
});

describe('a capability module\'s exports', () => {
  it('takes a default export, named exports and arrays, each definition once', () => {
    expect(definitionsOf(greet)).toEqual({ definitions: [greet] });
    expect(definitionsOf({ default: greet, greet, helper: () => 1, all: [greet, slow] })).toEqual({ definitions: [greet, slow] });
    expect(definitionsOf([slow])).toEqual({ definitions: [slow] });
  });

  it('refuses a module with no definition, and an array holding something else', () => {
    expect(definitionsOf({ answer: 42 })).toEqual({ problem: expect.stringMatching(/^exports no capability definition/) });
    expect(definitionsOf({ ...greet })).toEqual({ problem: expect.stringMatching(/^exports no capability definition/) });
    expect(definitionsOf([greet, { name: 'x' }])).toEqual({ problem: 'the exported array[1] is not a capability definition (make each with defineCapability)' });
  });

  it('registers each served definition with its spec and input/output JSON Schemas', () => {
    expect(registrations[0]).toMatchObject({
      capability: 'team.greet',
      worker: 'w1',
      version: '1.2.0',
      taskQueue: 'ados.cap.team.greet',
      source: 'caps/greet.ts',
      spec: { description: 'Says hello', startToCloseTimeoutSeconds: 30, heartbeatTimeoutSeconds: 5, retry: DEFAULT_RETRY, alternates: ['team.greet.slow'] },
      inputSchema: { type: 'object', required: ['who'], properties: { who: { type: 'string', minLength: 1 }, times: { type: 'integer', default: 1 } } },
      outputSchema: { type: 'object', required: ['text'] },
    });
  });
});
