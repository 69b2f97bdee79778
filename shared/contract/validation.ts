import type { z } from 'zod';

/** One problem with an input, addressed by its JSON path (e.g. `plan.tasks[2].dependsOn[0]`). */
export interface ValidationIssue {
  path: string;
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

export function issuesFromZod(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: jsonPath(issue.path), message: issue.message }));
}

/** Lists longer than this are cut in messages: a set of hundreds must not print hundreds of names per issue. */
export const MAX_LISTED_NAMES = 10;

/**
 * Names for a message, e.g. `a, b, c`; past MAX_LISTED_NAMES the rest are counted instead: `a, b, … and 110 more`.
 * `separator` joins them (`' → '` for a path).
 */
export function listNames(names: readonly string[], separator = ', '): string {
  if (names.length <= MAX_LISTED_NAMES) return names.join(separator);
  return `${names.slice(0, MAX_LISTED_NAMES).join(separator)}${separator}… and ${names.length - MAX_LISTED_NAMES} more`;
}

/** ` (did you mean "X"?)` when a candidate differs from the unknown `name` only in case, else empty. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const wanted = name.toLowerCase();
  for (const candidate of candidates) if (candidate.toLowerCase() === wanted) return ` (did you mean "${candidate}"?)`;
  return '';
}

export function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n');
}

/** Thrown at the client when input is refused before anything starts; carries every issue. */
export class InputValidationError extends Error {
  constructor(
    readonly what: string,
    readonly issues: ValidationIssue[],
  ) {
    super(`invalid ${what}:\n${formatIssues(issues)}`);
    this.name = 'InputValidationError';
  }
}
