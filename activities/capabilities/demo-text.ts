/**
 * Deterministic demo text from a prompt template (same prompt, same text), so that runs and tests are reproducible;
 * no model is involved. Two variants, served by different pools: `demo.text` (sentences drawn from the prompt's own
 * words, seeded by its hash) and `demo.text.fallback` (the rendered prompt itself, trimmed), which the escalation
 * ladder swaps to when the first fails past its retry policy. `input.simulateOutage` makes the named variants fail
 * (retryably), to exercise the swap; `input.denyTerms` is a content policy whose refusal is not retried.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { CAPABILITIES, type CapabilitySpec } from '../../shared/contract/capabilities';
import { renderTemplate } from './build';
import { invalidInput, policyRefusal } from './capability';
import { defineCapability } from './define';

/** What a `demo.text` task's input holds. */
const demoTextInput = z.object({
  prompt: z.string().min(1, 'give the prompt template, e.g. "Release notes for {{name}}"'),
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  maxWords: z.number().int().min(1, 'must be at least 1').max(2000, 'must be at most 2000').default(60),
  denyTerms: z.array(z.string().min(1, 'a deny term cannot be empty')).default([]),
  simulateOutage: z.array(z.string()).default([]),
});

export type DemoTextVariant = 'demo.text' | 'demo.text.fallback';

const demoTextOutput = z.object({
  text: z.string(),
  words: z.number().int(),
  /** How the text was made: words of the prompt drawn by a seeded PRNG, or the prompt itself trimmed. */
  method: z.enum(['seeded-words', 'extractive']),
  variant: z.enum(['demo.text', 'demo.text.fallback']),
  promptSha256: z.string(),
});
export type DemoTextOutput = z.output<typeof demoTextOutput>;

const CONNECTIVES = ['and', 'then', 'with', 'for', 'across', 'so', 'while', 'because', 'after', 'before', 'within', 'beyond'];

/** mulberry32: a small deterministic PRNG seeded from the prompt's hash. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const wordsOf = (text: string): string[] => text.split(/\s+/).map((w) => w.replace(/[^\p{L}\p{N}_.-]/gu, '')).filter(Boolean);

/** `demo.text`: sentences drawn from the prompt's words and connectives, seeded by the prompt's hash. */
export function seededWords(prompt: string, maxWords: number): string {
  const digest = createHash('sha256').update(prompt).digest();
  const next = prng(digest.readUInt32BE(0));
  const vocabulary = [...new Set(wordsOf(prompt).map((w) => w.toLowerCase()))];
  const pool = vocabulary.length > 0 ? vocabulary : ['nothing'];
  const out: string[] = [];
  let sentence: string[] = [];
  let sentenceLength = 6 + Math.floor(next() * 7);
  while (out.length + sentence.length < maxWords) {
    const useConnective = sentence.length > 0 && next() < 0.25;
    const word = useConnective ? CONNECTIVES[Math.floor(next() * CONNECTIVES.length)] : pool[Math.floor(next() * pool.length)];
    sentence.push(sentence.length === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : word);
    if (sentence.length >= sentenceLength) {
      sentence[sentence.length - 1] += '.';
      out.push(...sentence);
      sentence = [];
      sentenceLength = 6 + Math.floor(next() * 7);
    }
  }
  if (sentence.length > 0) {
    sentence[sentence.length - 1] += '.';
    out.push(...sentence);
  }
  return out.join(' ');
}

/** `demo.text.fallback`: the rendered prompt's first maxWords words. */
export function extractWords(prompt: string, maxWords: number): string {
  return wordsOf(prompt).slice(0, maxWords).join(' ');
}

/** One variant of the demo text capability. */
function demoTextVariant(variant: DemoTextVariant) {
  const spec: CapabilitySpec = CAPABILITIES[variant];
  return defineCapability({
    name: variant,
    version: '1.0.0',
    description: spec.description,
    input: demoTextInput,
    output: demoTextOutput,
    defaults: spec,
    fallback: spec.alternates,
    handler: async (input, { request }) => {
      const variables = { environment: request.environment, tenant: request.tenantId, run: request.runId, ...input.variables };
      const { text: prompt, missing } = renderTemplate(input.prompt, variables);
      if (missing.length > 0) {
        throw invalidInput(variant, request.taskId, `input.prompt uses unknown variable(s) ${missing.join(', ')}; add them to input.variables`);
      }
      const denied = input.denyTerms.filter((term) => prompt.toLowerCase().includes(term.toLowerCase()));
      if (denied.length > 0) {
        throw policyRefusal(variant, request.taskId, `the prompt contains denied term(s) ${denied.map((t) => `"${t}"`).join(', ')} (input.denyTerms)`);
      }
      if (input.simulateOutage.includes(variant)) {
        // Retryable on purpose: the retry policy runs out first, then the ladder swaps variants.
        throw ApplicationFailure.create({
          type: 'SimulatedOutage',
          message: `task "${request.taskId}" (${variant}): simulated outage of variant "${variant}" (input.simulateOutage)`,
        });
      }
      const text = variant === 'demo.text' ? seededWords(prompt, input.maxWords) : extractWords(prompt, input.maxWords);
      return {
        text,
        words: text === '' ? 0 : text.split(' ').length,
        method: variant === 'demo.text' ? ('seeded-words' as const) : ('extractive' as const),
        variant,
        promptSha256: createHash('sha256').update(prompt).digest('hex'),
      };
    },
  });
}

export const demoText = demoTextVariant('demo.text');
export const demoTextFallback = demoTextVariant('demo.text.fallback');
