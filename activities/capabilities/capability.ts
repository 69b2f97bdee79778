import { ApplicationFailure } from '@temporalio/activity';
import type { z } from 'zod';
import type { CapabilityRequest } from '../../shared/contract/delivery/capability-io';
import { formatIssues, issuesFromZod } from '../../shared/contract/validation';
import type { Db } from '../../shared/node/db';
import type { Logger } from '../../shared/node/logger';

/** What a capability handler may use; given by the worker that hosts it. */
export interface CapabilityDeps {
  db: Db;
  logger: Logger;
  /** The hosting worker's identity (recorded with fenced effects, activities/effects.ts). */
  workerIdentity?: string;
}

export type CapabilityHandler = (request: CapabilityRequest, deps: CapabilityDeps) => Promise<unknown>;

/** A user-fixable input error: not retried, and the message names the field. */
export function invalidInput(capability: string, taskId: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'InvalidCapabilityInput',
    message: `task "${taskId}" (${capability}): ${message}`,
    nonRetryable: true,
  });
}

export function parseTaskInput<S extends z.ZodType>(schema: S, capability: string, request: CapabilityRequest): z.output<S> {
  const parsed = schema.safeParse(request.input);
  if (!parsed.success) {
    const issues = issuesFromZod(parsed.error).map((issue) => ({ ...issue, path: `input.${issue.path}` }));
    throw invalidInput(capability, request.taskId, formatIssues(issues));
  }
  return parsed.data;
}

/** A refusal by policy (e.g. a content policy): not retried, and the ladder goes straight to a human. */
export function policyRefusal(capability: string, taskId: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'PolicyRefused',
    message: `task "${taskId}" (${capability}): refused by policy: ${message}`,
    nonRetryable: true,
  });
}
