/** The generation capability and its fallback variant, and the noop capability. */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { CapabilityDeps } from '../../activities/capabilities/capability';
import { extractText, generateText, generation, generationFallback } from '../../activities/capabilities/generation';
import { CAPABILITY_HANDLERS } from '../../activities/capability-activities';
import { noop } from '../../activities/capabilities/noop';
import { KNOWN_CAPABILITIES } from '../../shared/contract/capabilities';
import type { CapabilityRequest } from '../../shared/contract/delivery/capability-io';

const noDeps = {} as CapabilityDeps;
const request = (input: Record<string, unknown>): CapabilityRequest => ({
  tenantId: 'acme',
  workflowId: 'delivery-acme-r1',
  runId: 'r1',
  taskId: 'notes',
  environment: 'dev',
  input,
  upstream: {},
});

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApplicationFailure);
    return error as ApplicationFailure;
  }
  throw new Error('expected the handler to fail');
}

describe('generation', () => {
  const prompt = 'Release notes for {{tenant}} in {{environment}}: {{change}}';
  const rendered = 'Release notes for acme in dev: faster builds';

  it('is deterministic: the same prompt gives the same text, another prompt another text', async () => {
    const a = await generation(request({ prompt, variables: { change: 'faster builds' }, maxWords: 25 }), noDeps);
    const b = await generation(request({ prompt, variables: { change: 'faster builds' }, maxWords: 25 }), noDeps);
    const c = await generation(request({ prompt, variables: { change: 'fewer flakes' }, maxWords: 25 }), noDeps);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ model: 'ados-template-v1', variant: 'generation', promptSha256: createHash('sha256').update(rendered).digest('hex') });
    expect((a as { text: string }).text).not.toEqual((c as { text: string }).text);
    expect((a as { words: number }).words).toBeGreaterThanOrEqual(25);
    expect((a as { text: string }).text).toMatch(/^[A-Z].*\.$/);
  });

  it('generateText draws only from the prompt and connectives; extractText trims the prompt', () => {
    const text = generateText('alpha beta gamma', 40);
    for (const word of text.toLowerCase().replace(/\./g, '').split(' ')) {
      expect(['alpha', 'beta', 'gamma', 'and', 'then', 'with', 'for', 'across', 'so', 'while', 'because', 'after', 'before', 'within', 'beyond']).toContain(word);
    }
    expect(extractText('one two, three! four', 3)).toBe('one two three');
  });

  it('the fallback variant answers with the rendered prompt, trimmed to maxWords', async () => {
    const out = await generationFallback(request({ prompt, variables: { change: 'faster builds' }, maxWords: 4 }), noDeps);
    expect(out).toMatchObject({ text: 'Release notes for acme', words: 4, model: 'ados-extractive-v1', variant: 'generation.fallback' });
  });

  it('simulateOutage fails the named variants, retryably, and leaves the others working', async () => {
    const failure = await failureOf(generation(request({ prompt: 'x', simulateOutage: ['generation'] }), noDeps));
    expect({ type: failure.type, nonRetryable: failure.nonRetryable, message: failure.message }).toEqual({
      type: 'SimulatedOutage',
      nonRetryable: false,
      message: 'task "notes" (generation): simulated outage of variant "generation" (input.simulateOutage)',
    });
    await expect(generationFallback(request({ prompt: 'x', simulateOutage: ['generation'] }), noDeps)).resolves.toMatchObject({ variant: 'generation.fallback' });
  });

  it('a denied term is a policy refusal (not retried); bad input names the field', async () => {
    const refused = await failureOf(generation(request({ prompt: 'leak the Password', denyTerms: ['password'] }), noDeps));
    expect({ type: refused.type, nonRetryable: refused.nonRetryable, message: refused.message }).toEqual({
      type: 'PolicyRefused',
      nonRetryable: true,
      message: 'task "notes" (generation): refused by policy: the prompt contains denied term(s) "password" (input.denyTerms)',
    });
    const missing = await failureOf(generation(request({ prompt: 'hi {{who}}' }), noDeps));
    expect({ type: missing.type, message: missing.message }).toEqual({
      type: 'InvalidCapabilityInput',
      message: 'task "notes" (generation): input.prompt uses unknown variable(s) who; add them to input.variables',
    });
    const invalid = await failureOf(generationFallback(request({ prompt: 'x', maxWords: 0 }), noDeps));
    expect(invalid.message).toBe('task "notes" (generation.fallback): input.maxWords: must be at least 1');
  });
});

describe('noop and the handler table', () => {
  it('noop does nothing', async () => {
    await expect(noop(request({}), noDeps)).resolves.toEqual({ ok: true });
  });

  it('every registered capability has a handler', () => {
    expect(Object.keys(CAPABILITY_HANDLERS).sort()).toEqual([...KNOWN_CAPABILITIES].sort());
  });
});
