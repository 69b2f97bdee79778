/**
 * Text generation from a prompt template, deterministic (same prompt, same text) so that runs and tests are
 * reproducible. Two variants, served by different pools: `generation` (the primary "model") and
 * `generation.fallback` (extractive: the rendered prompt itself, trimmed), which the escalation ladder swaps to when
 * the primary fails past its retry policy. `input.simulateOutage` makes the named variants fail (retryably), to
 * exercise the swap; `input.denyTerms` is a content policy whose refusal is not retried.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { renderTemplate } from './build';
import { invalidInput, parseTaskInput, policyRefusal, type CapabilityHandler } from './capability';

/** What a `generation` task's input holds. */
const generationInput = z.object({
  prompt: z.string().min(1, 'give the prompt template, e.g. "Release notes for {{name}}"'),
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  maxWords: z.number().int().min(1, 'must be at least 1').max(2000, 'must be at most 2000').default(60),
  denyTerms: z.array(z.string().min(1, 'a deny term cannot be empty')).default([]),
  simulateOutage: z.array(z.string()).default([]),
});

export type GenerationVariant = 'generation' | 'generation.fallback';

export interface GenerationOutput {
  text: string;
  words: number;
  /** Which generator produced it. */
  model: 'ados-template-v1' | 'ados-extractive-v1';
  variant: GenerationVariant;
  promptSha256: string;
}

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

/** The primary generator: sentences drawn from the prompt's words and connectives, seeded by the prompt's hash. */
export function generateText(prompt: string, maxWords: number): string {
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

/** The fallback generator: the rendered prompt's first maxWords words. */
export function extractText(prompt: string, maxWords: number): string {
  return wordsOf(prompt).slice(0, maxWords).join(' ');
}

function generationHandler(variant: GenerationVariant): CapabilityHandler {
  return async (request) => {
    const input = parseTaskInput(generationInput, variant, request);
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
    const text = variant === 'generation' ? generateText(prompt, input.maxWords) : extractText(prompt, input.maxWords);
    const output: GenerationOutput = {
      text,
      words: text === '' ? 0 : text.split(' ').length,
      model: variant === 'generation' ? 'ados-template-v1' : 'ados-extractive-v1',
      variant,
      promptSha256: createHash('sha256').update(prompt).digest('hex'),
    };
    return output;
  };
}

export const generation = generationHandler('generation');
export const generationFallback = generationHandler('generation.fallback');
