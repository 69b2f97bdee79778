/**
 * The remediation actions on services deployed by deploy.process: a real restart of the release's process, scaling
 * to more (or fewer) replicas on their own ports, a rollback, and the health check that verifies the result. Served
 * on deploy.process's queue (activities/capability-activities.ts), so they run on the machine whose process runtime
 * holds the service.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { HealthCheck } from '../../shared/contract/remediation/health-watch';
import type { ActionEffect } from '../../shared/contract/remediation/input';
import { InputValidationError } from '../../shared/contract/validation';
import { loadConfig } from '../../shared/node/config';
import { HealthCheckFailedError, processRuntime, type EnvironmentRef } from '../../shared/node/runtime';

/** One action on one environment of a tenant's service. */
export interface ProcessActionInput {
  tenantId: string;
  service: string;
  environment: string;
  action: string;
  /** scale_up / scale_down: the number of processes to run (default one more, or one fewer). */
  replicas?: number;
  /** Recorded in the runtime's history, e.g. the remediation's workflow ID. */
  by: string;
}

const refOf = (input: Pick<ProcessActionInput, 'tenantId' | 'service' | 'environment'>): EnvironmentRef => ({
  tenant: input.tenantId,
  service: input.service,
  environment: input.environment,
});

/** Heartbeats while the runtime waits (health polls, draining); the activity's cancellation reaches the runtime. */
function hooks() {
  const context = Context.current();
  return { onProgress: (phase: string) => context.heartbeat({ phase }), signal: context.cancellationSignal };
}

/** A refusal the caller can fix (nothing deployed, bad replicas) or a health check that failed: never retried. */
function nonRetryable(error: unknown, input: ProcessActionInput): unknown {
  if (error instanceof InputValidationError) {
    const message = error.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
    return ApplicationFailure.create({ type: 'RemediationTargetInvalid', message: `${input.action} of ${input.tenantId}/${input.service}/${input.environment}: ${message}`, nonRetryable: true });
  }
  if (error instanceof HealthCheckFailedError) {
    return ApplicationFailure.create({ type: 'HealthCheckFailed', message: error.message, nonRetryable: true, details: [{ release: error.release, stillServing: error.stillServing }] });
  }
  return error;
}

export function createRemediationProcessActivities() {
  const runtime = () => processRuntime(loadConfig());
  return {
    /** Carries out restart, scale_up, scale_down or rollback; what it did (pids, ports, release). */
    async remediateProcess(input: ProcessActionInput): Promise<ActionEffect> {
      const rt = runtime();
      const ref = refOf(input);
      try {
        const before = rt.status(ref);
        const previousPid = before.process?.pid;
        switch (input.action) {
          case 'restart': {
            const result = await rt.restart(ref, { by: input.by }, hooks());
            return { action: input.action, pid: result.pid, previousPid, release: result.release, url: result.url };
          }
          case 'scale_up':
          case 'scale_down': {
            const serving = 1 + before.replicas.length;
            const replicas = input.replicas ?? Math.max(1, serving + (input.action === 'scale_up' ? 1 : -1));
            const result = await rt.scale(ref, { replicas, by: input.by }, hooks());
            return { action: input.action, pid: previousPid, release: result.release, replicas: result.replicas, url: result.url };
          }
          case 'rollback': {
            const result = await rt.rollback(ref, { by: input.by }, hooks());
            return { action: input.action, pid: result.pid, previousPid, release: result.release, url: result.url };
          }
          default:
            throw ApplicationFailure.create({
              type: 'UnknownProcessAction',
              message: `deploy.process services have no action "${input.action}": restart, scale_up, scale_down or rollback`,
              nonRetryable: true,
            });
        }
      } catch (error) {
        throw nonRetryable(error, input);
      }
    },

    /** The service's health check through its public port, after an action. */
    async checkServiceHealth(input: Pick<ProcessActionInput, 'tenantId' | 'service' | 'environment'>): Promise<{ healthy: boolean; url: string; detail: string }> {
      try {
        return await runtime().checkHealth(refOf(input));
      } catch (error) {
        throw nonRetryable(error, { ...input, action: 'health check', by: '' });
      }
    },

    /**
     * A health watch's check: the health check through the public port, and whether the release's process is
     * running (a check that fails with the process gone is a crash, not an overload). Nothing deployed is an answer,
     * not an error: the watch reports it and goes on.
     */
    async checkWatchedService(input: Pick<ProcessActionInput, 'tenantId' | 'service' | 'environment'>): Promise<HealthCheck> {
      const rt = runtime();
      try {
        const health = await rt.checkHealth(refOf(input));
        const status = rt.status(refOf(input));
        return { ...health, processRunning: status.process?.running ?? false };
      } catch (error) {
        if (error instanceof InputValidationError) return { healthy: false, url: '', detail: error.issues.map((issue) => issue.message).join('; '), processRunning: false };
        throw error;
      }
    },
  };
}

export type RemediationProcessActivities = ReturnType<typeof createRemediationProcessActivities>;
