/**
 * The pure parts of deploy.process, verify.http and deploy.kubernetes: health URLs (loopback only), JSON paths,
 * the rendered Kubernetes manifests, and the refusals that name the field or the setting before anything runs.
 */
import { parseAllDocuments } from 'yaml';
import { deployKubernetes, deployKubernetesInput, renderKubernetesManifests } from '../../activities/capabilities/deploy-kubernetes';
import { deployProcess, healthPath } from '../../activities/capabilities/deploy-process';
import { parseJsonPath, valueAt, verifyHttp } from '../../activities/capabilities/verify-http';
import { capabilityRequest, failureOf, runDefinition } from '../helpers/capability';

describe('deploy.process health URL', () => {
  it('takes a path, or a loopback URL without a port', () => {
    expect(healthPath('/health')).toEqual({ path: '/health' });
    expect(healthPath('http://127.0.0.1/ready?deep=1')).toEqual({ path: '/ready?deep=1' });
    expect(healthPath('http://localhost/health')).toEqual({ path: '/health' });
  });

  it('refuses a host that is not loopback, a port, and https', () => {
    expect(healthPath('http://10.0.0.5/health').problem).toMatch(/host "10.0.0.5" is not loopback/);
    expect(healthPath('http://127.0.0.1:8080/health').problem).toMatch(/leave the port out/);
    expect(healthPath('https://127.0.0.1/health').problem).toMatch(/http:\/\//);
  });

  it('a task with a non-loopback health URL is refused naming input.health.url, before anything starts', async () => {
    const failure = await failureOf(
      runDefinition(deployProcess, capabilityRequest({ service: 'hello', artifactDir: '/nowhere', start: ['node', 'server.js'], port: 18081, health: { url: 'http://example.com/health' } })),
    );
    expect(failure).toMatchObject({ type: 'InvalidCapabilityInput', nonRetryable: true });
    expect(failure.message).toContain('input.health.url');
  });

  it('a port map without the task environment names input.port', async () => {
    const failure = await failureOf(
      runDefinition(deployProcess, capabilityRequest({ service: 'hello', artifactDir: '/nowhere', start: ['node', 'server.js'], port: { stage: 18082 } }, { environment: 'dev' })),
    );
    expect(failure.message).toContain('input.port: no port for environment "dev"');
  });
});

describe('verify.http JSON paths', () => {
  it('parses dotted and indexed paths and reads values', () => {
    expect(parseJsonPath('status')).toEqual(['status']);
    expect(parseJsonPath('checks[1].name')).toEqual(['checks', 1, 'name']);
    expect(parseJsonPath('a..b')).toBeUndefined();
    expect(parseJsonPath('')).toBeUndefined();
    expect(valueAt({ checks: [{ name: 'db' }, { name: 'cache' }] }, ['checks', 1, 'name'])).toBe('cache');
    expect(valueAt({ a: 1 }, ['a', 'b'])).toBeUndefined();
  });

  it('refuses a base URL that is not loopback, and a task giving neither service nor baseUrl', async () => {
    const remote = await failureOf(runDefinition(verifyHttp, capabilityRequest({ baseUrl: 'http://example.com' })));
    expect(remote.message).toContain('input.baseUrl');
    const neither = await failureOf(runDefinition(verifyHttp, capabilityRequest({})));
    expect(neither.message).toContain('input.service');
  });
});

describe('deploy.kubernetes', () => {
  const input = deployKubernetesInput.parse({ name: 'hello', image: 'registry.example/hello:1.0.0', replicas: 2, env: { MODE: 'on' } });

  it('renders a Deployment and a Service that YAML readers parse back', () => {
    const text = renderKubernetesManifests(input, { tenant: 'acme', environment: 'stage' });
    const documents = parseAllDocuments(text).map((d) => d.toJS());
    expect(documents.map((d) => d.kind)).toEqual(['Deployment', 'Service']);
    const [deployment, service] = documents;
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.selector.matchLabels).toEqual(service.spec.selector);
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    const container = deployment.spec.template.spec.containers[0];
    expect(container).toMatchObject({ image: 'registry.example/hello:1.0.0', env: [{ name: 'MODE', value: 'on' }], readinessProbe: { httpGet: { path: '/health', port: 8080 } } });
    expect(service.spec.ports).toEqual([{ port: 80, targetPort: 8080 }]);
    expect(deployment.metadata.labels['ados.dev/tenant']).toBe('acme');
    // Quoted where a YAML 1.1 reader would otherwise read "on" as a boolean.
    expect(text).toContain('value: "on"');
  });

  it('is refused, naming ADOS_KUBE_CONTEXT, when no context is configured', async () => {
    const saved = process.env.ADOS_KUBE_CONTEXT;
    delete process.env.ADOS_KUBE_CONTEXT;
    try {
      const failure = await failureOf(runDefinition(deployKubernetes, capabilityRequest({ name: 'hello', image: 'hello:1' })));
      expect(failure).toMatchObject({ type: 'CapabilityNotConfigured', nonRetryable: true });
      expect(failure.message).toContain('set ADOS_KUBE_CONTEXT');
    } finally {
      if (saved !== undefined) process.env.ADOS_KUBE_CONTEXT = saved;
    }
  });
});
