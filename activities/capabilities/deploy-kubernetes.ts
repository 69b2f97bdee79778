import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { stringify } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '../../shared/node/config';
import { CommandNotStarted, commandEnvironment, fileTail, runCommand } from '../../shared/node/process/command';
import { defineBuiltIn, type CapabilityContext } from './define';

/** A Kubernetes object name (RFC 1123 label). */
const k8sName = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a Kubernetes name: lowercase letters, digits and "-", at most 63');
const port = z.number().int().min(1).max(65535);

export const deployKubernetesInput = z.strictObject({
  name: k8sName,
  namespace: k8sName.default('default'),
  image: z.string().min(1, 'the container image, e.g. registry.example/hello:1.0.0'),
  replicas: z.number().int().min(0).max(100).default(1),
  containerPort: port.default(8080),
  servicePort: port.default(80),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string()).default({}),
  /** Readiness probe path (HTTP GET on containerPort). */
  healthPath: z.string().startsWith('/', 'a path such as /health').default('/health'),
  rolloutTimeoutSeconds: z.number().int().positive().max(3600).default(120),
});
export type DeployKubernetesInput = z.output<typeof deployKubernetesInput>;

/** The Deployment and Service for `input`, labelled with the ADOS environment and tenant, as one YAML stream. */
export function renderKubernetesManifests(input: DeployKubernetesInput, labels: { tenant: string; environment: string }): string {
  const selector = { 'app.kubernetes.io/name': input.name, 'ados.dev/environment': labels.environment };
  const metadataLabels = { ...selector, 'ados.dev/tenant': labels.tenant, 'app.kubernetes.io/managed-by': 'ados' };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: input.name, namespace: input.namespace, labels: metadataLabels },
    spec: {
      replicas: input.replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: metadataLabels },
        spec: {
          containers: [
            {
              name: input.name,
              image: input.image,
              ports: [{ containerPort: input.containerPort }],
              env: Object.entries(input.env).map(([name, value]) => ({ name, value })),
              readinessProbe: { httpGet: { path: input.healthPath, port: input.containerPort }, periodSeconds: 5 },
            },
          ],
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: input.name, namespace: input.namespace, labels: metadataLabels },
    spec: { selector, ports: [{ port: input.servicePort, targetPort: input.containerPort }] },
  };
  // YAML 1.1 rules, as Kubernetes reads them: a value such as "on" or "yes" is quoted so it stays a string.
  return [deployment, service].map((document) => stringify(document, { version: '1.1' })).join('---\n');
}

function notConfigured(ctx: CapabilityContext, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'CapabilityNotConfigured', message: `task "${ctx.request.taskId}" (deploy.kubernetes): ${message}`, nonRetryable: true });
}

/** Runs kubectl with the configured context; a non-zero exit fails (retryably) with the log tail. */
async function kubectl(ctx: CapabilityContext, program: string, phase: string, args: string[], logFile: string): Promise<void> {
  const outcome = await runCommand({
    argv: [program, ...args],
    cwd: ctx.workspace,
    env: commandEnvironment(process.env, ['PATH', 'HOME', 'KUBECONFIG'], {}),
    logFile,
    killGraceMs: 5_000,
    signal: ctx.signal,
    heartbeatMs: 1_000,
    onRunning: () => ctx.heartbeat({ phase }),
  });
  if (outcome.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} exited with ${outcome.exitSignal ?? outcome.exitCode}: ${await fileTail(logFile, 2_000)}`);
}

/**
 * Renders a Deployment and a Service and applies them with kubectl, then waits for the rollout. Refused (not
 * retried) unless ADOS_KUBE_CONTEXT names a context and kubectl runs.
 */
export const deployKubernetes = defineBuiltIn('deploy.kubernetes', {
  version: '1.0.0',
  input: deployKubernetesInput,
  output: z.object({ manifest: z.string(), context: z.string(), namespace: z.string(), name: z.string() }),
  handler: async (input, ctx) => {
    const config = loadConfig();
    if (!config.kubeContext) {
      throw notConfigured(ctx, 'no cluster is configured: set ADOS_KUBE_CONTEXT on the worker to a kubectl context (kubectl config get-contexts), or deploy with deploy.process');
    }
    const manifest = renderKubernetesManifests(input, { tenant: ctx.request.tenantId, environment: ctx.request.environment });
    const manifestFile = path.join(ctx.workspace, 'manifest.yaml');
    await writeFile(manifestFile, manifest);
    const logFile = path.join(ctx.workspace, 'kubectl.log');
    const context = ['--context', config.kubeContext];
    try {
      await kubectl(ctx, config.kubectl, 'apply', [...context, 'apply', '-f', manifestFile], logFile);
    } catch (error) {
      if (error instanceof CommandNotStarted) throw notConfigured(ctx, `kubectl could not be run (${error.message}): install it, or set ADOS_KUBECTL to its path`);
      throw error;
    }
    await kubectl(
      ctx,
      config.kubectl,
      'rollout status',
      [...context, '-n', input.namespace, 'rollout', 'status', `deployment/${input.name}`, `--timeout=${input.rolloutTimeoutSeconds}s`],
      logFile,
    );
    return { manifest: manifestFile, context: config.kubeContext, namespace: input.namespace, name: input.name };
  },
});
