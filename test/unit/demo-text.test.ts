/** The demo.text capability and its fallback variant, noop, and the built-in definitions against the registry. */
import { createHash } from 'node:crypto';
import { demoText, demoTextFallback, extractWords, seededWords } from '../../activities/capabilities/demo-text';
import { specOf } from '../../activities/capabilities/define';
import { noop } from '../../activities/capabilities/noop';
import { BUILT_INS } from '../../activities/capability-activities';
import { capabilitySpec, KNOWN_CAPABILITIES } from '../../shared/contract/capabilities';
import { capabilityRequest, failureOf, runDefinition } from '../helpers/capability';

const request = (input: Record<string, unknown>) => capabilityRequest(input, { taskId: 'notes' });

describe('demo.text', () => {
  const prompt = 'Release notes for {{tenant}} in {{environment}}: {{change}}';
  const rendered = 'Release notes for acme in dev: faster builds';

  it('is deterministic: the same prompt gives the same text, another prompt another text', async () => {
    const a = await runDefinition(demoText, request({ prompt, variables: { change: 'faster builds' }, maxWords: 25 }));
    const b = await runDefinition(demoText, request({ prompt, variables: { change: 'faster builds' }, maxWords: 25 }));
    const c = await runDefinition(demoText, request({ prompt, variables: { change: 'fewer flakes' }, maxWords: 25 }));
    expect(a).toEqual(b);
    expect(a).toMatchObject({ method: 'seeded-words', variant: 'demo.text', promptSha256: createHash('sha256').update(rendered).digest('hex') });
    expect(a.text).not.toEqual(c.text);
    expect(a.words).toBeGreaterThanOrEqual(25);
    expect(a.text).toMatch(/^[A-Z].*\.$/);
  });

  it('seededWords draws only from the prompt and connectives; extractWords trims the prompt', () => {
    const text = seededWords('alpha beta gamma', 40);
    for (const word of text.toLowerCase().replace(/\./g, '').split(' ')) {
      expect(['alpha', 'beta', 'gamma', 'and', 'then', 'with', 'for', 'across', 'so', 'while', 'because', 'after', 'before', 'within', 'beyond']).toContain(word);
    }
    expect(extractWords('one two, three! four', 3)).toBe('one two three');
  });

  it('the fallback variant answers with the rendered prompt, trimmed to maxWords', async () => {
    const out = await runDefinition(demoTextFallback, request({ prompt, variables: { change: 'faster builds' }, maxWords: 4 }));
    expect(out).toMatchObject({ text: 'Release notes for acme', words: 4, method: 'extractive', variant: 'demo.text.fallback' });
  });

  it('simulateOutage fails the named variants, retryably, and leaves the others working', async () => {
    const failure = await failureOf(runDefinition(demoText, request({ prompt: 'x', simulateOutage: ['demo.text'] })));
    expect({ type: failure.type, nonRetryable: failure.nonRetryable, message: failure.message }).toEqual({
      type: 'SimulatedOutage',
      nonRetryable: false,
      message: 'task "notes" (demo.text): simulated outage of variant "demo.text" (input.simulateOutage)',
    });
    await expect(runDefinition(demoTextFallback, request({ prompt: 'x', simulateOutage: ['demo.text'] }))).resolves.toMatchObject({ variant: 'demo.text.fallback' });
  });

  it('a denied term is a policy refusal (not retried); bad input names the field', async () => {
    const refused = await failureOf(runDefinition(demoText, request({ prompt: 'leak the Password', denyTerms: ['password'] })));
    expect({ type: refused.type, nonRetryable: refused.nonRetryable, message: refused.message }).toEqual({
      type: 'PolicyRefused',
      nonRetryable: true,
      message: 'task "notes" (demo.text): refused by policy: the prompt contains denied term(s) "password" (input.denyTerms)',
    });
    const missing = await failureOf(runDefinition(demoText, request({ prompt: 'hi {{who}}' })));
    expect({ type: missing.type, message: missing.message }).toEqual({
      type: 'InvalidCapabilityInput',
      message: 'task "notes" (demo.text): input.prompt uses unknown variable(s) who; add them to input.variables',
    });
    const invalid = await failureOf(runDefinition(demoTextFallback, request({ prompt: 'x', maxWords: 0 })));
    expect({ type: invalid.type, nonRetryable: invalid.nonRetryable, message: invalid.message }).toEqual({
      type: 'InvalidCapabilityInput',
      nonRetryable: true,
      message: 'task "notes" (demo.text.fallback): input.maxWords: must be at least 1',
    });
  });
});

describe('noop and the built-in definitions', () => {
  it('noop does nothing', async () => {
    await expect(runDefinition(noop, request({}))).resolves.toEqual({ ok: true });
  });

  it('every registry entry has one definition, scheduled with that entry (timeouts, retry, alternates)', () => {
    expect(BUILT_INS.map((d) => d.name).sort()).toEqual([...KNOWN_CAPABILITIES].sort());
    for (const definition of BUILT_INS) {
      expect({ name: definition.name, spec: specOf(definition) }).toEqual({ name: definition.name, spec: capabilitySpec(definition.name) });
    }
  });
});
