/**
 * Runs a capability definition the way a worker does (runCapability: input parsed, context built, output checked),
 * in a MockActivityEnvironment: handler logic tested without a server. Failures come back as the worker would
 * report them (ApplicationFailure with type and message).
 */
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { CapabilityDefinition } from '../../activities/capabilities/define';
import { runCapability } from '../../activities/capabilities/run-capability';
import type { CapabilityRequest, CapabilityResult } from '../../shared/contract/delivery/capability-io';
import type { Db } from '../../shared/node/db';
import { createLogger } from '../../shared/node/logger';

/** A task request for `input`, with the fields a test does not care about filled in. */
export function capabilityRequest(input: Record<string, unknown>, overrides: Partial<CapabilityRequest> = {}): CapabilityRequest {
  return { tenantId: 'acme', workflowId: 'delivery-acme-r1', runId: 'r1', taskId: 'task', environment: 'dev', input, upstream: {}, ...overrides };
}

/** The definition's output for `request` (`db` only for capabilities that use the database). */
export async function runDefinition(definition: CapabilityDefinition<any, any>, request: CapabilityRequest, db = {} as Db): Promise<any> {
  const environment = new MockActivityEnvironment({ attempt: 1 }, { logger: new DefaultLogger('ERROR') });
  const result: CapabilityResult = await environment.run(runCapability, definition, request, {
    db,
    logger: createLogger('test-capability', 'silent'),
    workerIdentity: 'test-worker',
    workspaceRoot: path.join(os.tmpdir(), 'ados-test-workspaces', String(process.pid)),
  });
  return result.output;
}

/** The ApplicationFailure `promise` rejects with (the test fails if it resolves or rejects with something else). */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApplicationFailure);
    return error as ApplicationFailure;
  }
  throw new Error('expected the capability to fail');
}
