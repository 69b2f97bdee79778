import type { GeneratorContext } from './context';
import { retentionMs, str } from './context';

const SAMPLE = { string: "'sample'", number: '1', boolean: 'true', object: '{}' } as const;
const WRONG = { string: '1', number: "'one'", boolean: "'yes'", object: "'text'" } as const;

/** A jest test of the generated module, derived from the same schema, so it checks the module against its schema. */
export function generateModuleTest(ctx: GeneratorContext): string {
  const { agent, typeName } = ctx;
  const inputs = agent.communication.inputs;
  const outputs = agent.communication.outputs;
  const sampleInput = `{ ${inputs.filter((f) => f.required).map((f) => `${f.name}: ${SAMPLE[f.type]}`).join(', ')} }`;
  const sampleOutput = `{ ${outputs.filter((f) => f.required).map((f) => `${f.name}: ${SAMPLE[f.type]}`).join(', ')} }`;
  const required = inputs.filter((f) => f.required);
  const mode = agent.governance.mode;
  const expectApproval = (risk: 'low' | 'medium' | 'high') =>
    mode === 'supervised' ? true : mode === 'hybrid' ? risk !== 'low' : agent.governance.humanOverride && risk === 'high';
  const policy = agent.governance.escalationPolicy;
  // The same rule as the module's escalationFor, computed here to write the expectations down.
  const dueAt = (minutes: number) => [...policy].filter((s) => minutes >= s.afterMinutes).sort((a, b) => b.level - a.level)[0];
  const firstMinutes = Math.min(...policy.map((s) => s.afterMinutes));
  const maxMinutes = Math.max(0, ...policy.map((s) => s.afterMinutes));
  const firstDue = policy.length > 0 ? dueAt(firstMinutes) : undefined;
  const lastStep = policy.length > 0 ? dueAt(maxMinutes) : undefined;

  const tests: string[] = [];
  tests.push(`  test('carries the identity of its schema', () => {
    expect(AGENT).toMatchObject({ name: ${str(agent.name)}, kind: ${str(agent.kind)}, schemaVersion: ${str(agent.version)} });
    expect(AGENT.schemaSha256).toMatch(/^[0-9a-f]{64}$/);
  });`);
  tests.push(`  test('is locked to its dependencies', () => {
    expect(Object.keys(DEPENDENCIES).sort()).toEqual([${ctx.dependencies.map((d) => str(d.name)).join(', ')}]);
    for (const hash of Object.values(DEPENDENCIES)) expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });`);
  tests.push(`  test('accepts an input with every required field', () => {
    expect(validateInput(${sampleInput})).toEqual({ ok: true });
  });`);
  tests.push(`  test('refuses what is not an object', () => {
    expect(validateInput('text')).toEqual({ ok: false, errors: ['(input): must be an object'] });
  });`);
  if (required.length > 0) {
    tests.push(`  test('names every missing required field', () => {
    expect(validateInput({})).toEqual({ ok: false, errors: [${required.map((f) => str(`${f.name}: required (${f.type})`)).join(', ')}] });
  });`);
    const first = required[0];
    tests.push(`  test('names a field of the wrong type', () => {
    expect(validateInput({ ...${sampleInput}, ${first.name}: ${WRONG[first.type]} })).toEqual({ ok: false, errors: [${str(`${first.name}: must be a ${first.type}`)}] });
  });`);
  }
  tests.push(`  test('asks a human according to governance mode ${mode}', () => {
    expect(GOVERNANCE.mode).toBe(${str(mode)});
    expect(requiresHumanApproval('low')).toBe(${expectApproval('low')});
    expect(requiresHumanApproval('medium')).toBe(${expectApproval('medium')});
    expect(requiresHumanApproval('high')).toBe(${expectApproval('high')});
  });`);
  if (firstDue && lastStep) {
    tests.push(`  test('escalates along its policy', () => {
    expect(escalationFor(${firstMinutes})).toMatchObject({ level: ${firstDue.level}, notify: ${str(firstDue.notify)} });
    expect(escalationFor(${maxMinutes})).toMatchObject({ level: ${lastStep.level}, notify: ${str(lastStep.notify)} });${
      firstMinutes > 0 ? `\n    expect(escalationFor(${firstMinutes - 1})).toBeUndefined();` : ''
    }
  });`);
  } else {
    tests.push(`  test('has no escalation policy', () => {
    expect(escalationFor(1_000_000)).toBeUndefined();
  });`);
  }
  tests.push(`  test('keeps working memory for ${agent.memoryTopology.working.retention}', () => {
    expect(retentionMsOf('working')).toBe(${retentionMs(agent.memoryTopology.working.retention)});
  });`);
  tests.push(`  test('runs its handler on a valid input', async () => {
    const agent = new ${typeName}Agent(async () => (${sampleOutput}) as ${typeName}Output);
    await expect(agent.handle(${sampleInput})).resolves.toEqual(${sampleOutput});
  });`);
  tests.push(`  test('refuses an invalid input without running its handler', async () => {
    let calls = 0;
    const agent = new ${typeName}Agent(async () => {
      calls += 1;
      return (${sampleOutput}) as ${typeName}Output;
    });
    await expect(agent.handle(null)).rejects.toThrow('invalid input');
    expect(calls).toBe(0);
  });`);
  tests.push(`  test('gives up after its timeout', async () => {
    const agent = new ${typeName}Agent(() => new Promise<never>(() => undefined), 20);
    await expect(agent.handle(${sampleInput})).rejects.toThrow('no answer within 20 ms');
  });`);

  return `/** Generated by the ADOS extractor ${ctx.extractorVersion} (glue ${ctx.glueVersion}) with the module beside it. Do not edit. */
import {
  AGENT,
  DEPENDENCIES,
  GOVERNANCE,
  ${typeName}Agent,
  type ${typeName}Output,
  escalationFor,
  requiresHumanApproval,
  retentionMsOf,
  validateInput,
} from './index';

describe(${str(`${agent.name} (generated)`)}, () => {
${tests.join('\n\n')}
});
`;
}
