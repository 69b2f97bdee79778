/**
 * A list of capabilities to serve or to describe, as `--capabilities build,deploy` gives it (`ados worker`,
 * `ados workers`): registered names, each once. One rule for both commands and for the worker's own planning.
 */
import { z } from 'zod';
import { capabilitySpec, KNOWN_CAPABILITIES } from './capabilities';
import { didYouMean, listNames } from './validation';

/** `build, deploy,` → `['build', 'deploy']`. */
function splitCapabilityList(text: string): string[] {
  return text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}

/** Why these capabilities cannot be served or described (an unknown or repeated name), or undefined. */
export function capabilityListProblem(names: readonly string[]): string | undefined {
  const unknown = names.filter((name) => !capabilitySpec(name));
  if (unknown.length > 0) {
    const hint = unknown.length === 1 ? didYouMean(unknown[0], KNOWN_CAPABILITIES) : '';
    return `unknown capabilit${unknown.length > 1 ? 'ies' : 'y'} ${listNames(unknown)}${hint}; known: ${listNames(KNOWN_CAPABILITIES)}`;
  }
  const repeated = names.filter((name, index) => names.indexOf(name) !== index);
  if (repeated.length > 0) return `capability ${listNames([...new Set(repeated)])} is listed more than once`;
  return undefined;
}

/** The `--capabilities` flag: at least one registered capability, each once. */
export const capabilityListFlag = z.string().transform((text, context): string[] => {
  const names = splitCapabilityList(text);
  const problem = names.length === 0 ? `give at least one capability, e.g. build,deploy; known: ${listNames(KNOWN_CAPABILITIES)}` : capabilityListProblem(names);
  if (problem) {
    context.addIssue({ code: 'custom', message: problem, input: text });
    return z.NEVER;
  }
  return names;
});
