import { ApplicationFailure } from '@temporalio/activity';

/** A user-fixable input error: not retried, and the message names the field. */
export function invalidInput(capability: string, taskId: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'InvalidCapabilityInput',
    message: `task "${taskId}" (${capability}): ${message}`,
    nonRetryable: true,
  });
}

/** A refusal by policy (e.g. a content policy): not retried, and the ladder goes straight to a human. */
export function policyRefusal(capability: string, taskId: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'PolicyRefused',
    message: `task "${taskId}" (${capability}): refused by policy: ${message}`,
    nonRetryable: true,
  });
}
