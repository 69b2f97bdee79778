import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';

/** No run with this workflow ID in the namespace (exit code 3). */
export class RunNotFoundError extends Error {
  constructor(readonly workflowId: string) {
    super(`no run with id ${workflowId} in this namespace; \`ados pending\` lists runs awaiting approval`);
    this.name = 'RunNotFoundError';
  }
}

/** A decision or resolution the run refused, with its reason (exit code 4). */
export class DecisionRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecisionRefusedError';
  }
}

/**
 * What a failed signal or Update to a run means for the person who sent it: a refusal by the Update's validator, a
 * run that has already finished, or no such run. Other errors are returned as they are.
 */
export async function messageFailure(client: Client, workflowId: string, error: unknown): Promise<unknown> {
  if (error instanceof WorkflowUpdateFailedError) {
    const cause = error.cause as Error | undefined;
    return new DecisionRefusedError(cause?.message ?? error.message);
  }
  if (!(error instanceof WorkflowNotFoundError)) return error;
  // The server answers "not found" to a message for a closed run; say which it is.
  try {
    const { status } = await client.workflow.getHandle(workflowId).describe();
    return new DecisionRefusedError(`run ${workflowId} has already finished (${status.name.toLowerCase()}); it takes no more decisions`);
  } catch {
    return new RunNotFoundError(workflowId);
  }
}
