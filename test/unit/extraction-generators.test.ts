/**
 * The generators: deterministic (same input → byte-identical output, whatever the key order), the generated
 * TypeScript compiles (`tsc --noEmit`, strict) and its generated jest test passes, and the manifest's sections are
 * traceable for drift, which is classified minor / major / critical.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { classifyManifestDrift, remediation } from '../../shared/node/extraction/drift';
import { generateArtifacts, type GeneratedArtifact } from '../../shared/node/extraction/generators';
import { manifestSection } from '../../shared/node/extraction/generators/manifest';
import { GENERATOR_VERSIONS } from '../../shared/node/extraction/generators/version';
import { artifactRefs, cacheKey, outputSha256, schemaSha256, setHash8, sha256 } from '../../shared/node/extraction/hashing';
import { canonicalJson } from '../../shared/contract/canonical';
import { validateSchemaSet } from '../../shared/contract/extraction/validate';
import type { AgentSchema } from '../../shared/contract/extraction/schema';
import { topologicalOrder } from '../../shared/contract/graph';
import { seedDocuments } from '../helpers/extraction';
import { PROJECT_ROOT } from '../helpers/toolchain';

/** The seed set extracted in dependency order, each agent with its real dependency output hashes. */
function extractSeed(documents = seedDocuments()): Map<string, { schema: AgentSchema; artifacts: GeneratedArtifact[]; output: string }> {
  const report = validateSchemaSet(documents);
  expect(report.ok).toBe(true);
  const schemas = new Map(report.schemas.map((s) => [s.schema!.name, s.schema!]));
  const done = new Map<string, { schema: AgentSchema; artifacts: GeneratedArtifact[]; output: string }>();
  for (const name of topologicalOrder([...schemas.values()].map((s) => ({ id: s.name, dependsOn: s.dependsOn })))) {
    const schema = schemas.get(name)!;
    const dependencies = Object.fromEntries(schema.dependsOn.map((d) => [d, done.get(d)!.output]));
    const artifacts = generateArtifacts(schema, schemaSha256(schema), dependencies);
    done.set(name, { schema, artifacts, output: outputSha256(artifactRefs(artifacts)) });
  }
  return done;
}

/** Reverses the key order of every object, recursively. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
  return value;
}

describe('determinism', () => {
  test('the same schemas give byte-identical artifacts, run after run', () => {
    const first = extractSeed();
    const second = extractSeed();
    for (const [name, { artifacts }] of first) {
      expect(second.get(name)!.artifacts).toEqual(artifacts);
      expect(second.get(name)!.output).toBe(first.get(name)!.output);
    }
  });

  test('key order in the files does not matter (canonical input); a changed value does', () => {
    const reordered = seedDocuments().map((d) => ({ ...d, document: reverseKeys(d.document) as Record<string, unknown> }));
    expect(Object.keys(reordered[0].document)[0]).toBe('metadata');
    const a = extractSeed();
    const b = extractSeed(reordered);
    for (const [name, { output }] of a) expect(b.get(name)!.output).toBe(output);

    const changed = seedDocuments();
    (changed.find((d) => d.document.name === 'Main')!.document.deployment as Record<string, unknown>).replicas = 4;
    const c = extractSeed(changed);
    expect(c.get('Main')!.output).not.toBe(a.get('Main')!.output);
    // Downstream outputs change with it (they lock their dependencies' output hashes); others do not.
    expect(c.get('PlastOS Adapter')!.output).not.toBe(a.get('PlastOS Adapter')!.output);
    expect(c.get('Auditor')!.output).not.toBe(a.get('Auditor')!.output);
    expect(c.get('Trainer')!.output).toBe(a.get('Trainer')!.output);
    expect(c.get('TensorAIOS')!.output).toBe(a.get('TensorAIOS')!.output);
  });

  test('four artifacts per agent, in path order, under the agent slug; only \\n line ends', () => {
    const seed = extractSeed();
    expect(seed.get('PlastOS Adapter')!.artifacts.map((a) => [a.path, a.kind])).toEqual([
      ['plastos-adapter/README.md', 'readme'],
      ['plastos-adapter/index.test.ts', 'test'],
      ['plastos-adapter/index.ts', 'module'],
      ['plastos-adapter/manifest.yaml', 'manifest'],
    ]);
    for (const { artifacts } of seed.values()) for (const a of artifacts) expect(a.content).not.toMatch(/\r/);
  });

  test('canonical JSON sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: undefined }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"f":1}]},"b":1}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow('NaN has no JSON form');
  });

  test('cache keys change with every part, and only with them', () => {
    const parts = { schemaSha256: sha256('s'), ...GENERATOR_VERSIONS, dependencies: { A: sha256('a') } };
    const key = cacheKey(parts);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKey({ ...parts, dependencies: { A: sha256('a') } })).toBe(key);
    for (const changed of [
      { ...parts, schemaSha256: sha256('t') },
      { ...parts, extractorVersion: '9.9.9' },
      { ...parts, glueVersion: '9.9.9' },
      { ...parts, dependencies: { A: sha256('b') } },
      { ...parts, dependencies: {} },
    ]) {
      expect(cacheKey(changed)).not.toBe(key);
    }
    expect(setHash8([{ file: 'b', document: { x: 1, y: 2 } }, { file: 'a', document: {} }])).toBe(setHash8([{ file: 'a', document: {} }, { file: 'b', document: { y: 2, x: 1 } }]));
  });
});

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 120_000, env: { ...process.env, FORCE_COLOR: '0' } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe('the generated code', () => {
  let dir: string;
  const bin = (name: string) => join(PROJECT_ROOT, 'node_modules', '.bin', name);

  beforeAll(() => {
    mkdirSync(join(PROJECT_ROOT, '.ados', 'tmp'), { recursive: true });
    // Inside the project, so that `jest`, `@swc/jest` and the type packages resolve from its node_modules.
    dir = mkdtempSync(join(PROJECT_ROOT, '.ados', 'tmp', 'generated-'));
    for (const { artifacts } of extractSeed().values()) {
      for (const a of artifacts) {
        mkdirSync(join(dir, a.path.split('/')[0]), { recursive: true });
        writeFileSync(join(dir, a.path), a.content);
      }
    }
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'commonjs', moduleResolution: 'node', strict: true, noEmit: true, skipLibCheck: true, types: ['jest', 'node'] },
        include: ['**/*.ts'],
      }),
    );
    writeFileSync(
      join(dir, 'jest.config.json'),
      JSON.stringify({
        rootDir: '.',
        testEnvironment: 'node',
        testMatch: ['**/*.test.ts'],
        transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
      }),
    );
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('compiles with tsc --noEmit in strict mode', async () => {
    const { code, output } = await run(bin('tsc'), ['-p', 'tsconfig.json'], dir);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  test('its generated jest tests pass (12+ per agent)', async () => {
    const { code, output } = await run(bin('jest'), ['-c', 'jest.config.json', '--ci', '--json', '--outputFile', 'results.json'], dir);
    const results = JSON.parse(require('node:fs').readFileSync(join(dir, 'results.json'), 'utf8')) as { numPassedTests: number; numFailedTests: number; numTotalTestSuites: number };
    expect({ code, failed: results.numFailedTests, suites: results.numTotalTestSuites }).toEqual({ code: 0, failed: 0, suites: 5 });
    expect(results.numPassedTests).toBeGreaterThanOrEqual(5 * 12);
    expect(output).not.toContain('FAIL');
  });

  test('the harness catches a broken module and a failing generated test (so the two tests above can fail)', async () => {
    const broken = join(dir, 'broken');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'index.ts'), 'export const n: number = "not a number";\n');
    writeFileSync(join(broken, 'index.test.ts'), "import { n } from './index';\ntest('fails', () => expect(n).toBe(1));\n");
    try {
      const tsc = await run(bin('tsc'), ['-p', 'tsconfig.json'], dir);
      expect(tsc.code).not.toBe(0);
      expect(tsc.output).toContain("broken/index.ts(1,14): error TS2322: Type 'string' is not assignable to type 'number'.");
      const jest = await run(bin('jest'), ['-c', 'jest.config.json', '--ci', 'broken'], dir);
      expect(jest.code).not.toBe(0);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});

describe('the manifest and drift', () => {
  const seed = extractSeed();
  const manifestOf = (name: string) => seed.get(name)!.artifacts.find((a) => a.kind === 'manifest')!.content;

  test('a Deployment and a Service, named by slug, carrying the schema hash and the governance', () => {
    const [deployment, service] = parseAllDocuments(manifestOf('PlastOS Adapter')).map((d) => d.toJS());
    expect(deployment).toMatchObject({
      kind: 'Deployment',
      metadata: {
        name: 'plastos-adapter',
        annotations: { 'ados.dev/agent': 'PlastOS Adapter', 'ados.dev/governance-mode': 'autonomous', 'ados.dev/human-override': 'false' },
      },
      spec: { replicas: 2 },
    });
    expect(deployment.metadata.annotations['ados.dev/schema-sha256']).toBe(schemaSha256(seed.get('PlastOS Adapter')!.schema));
    expect(service).toMatchObject({ kind: 'Service', spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 8080, targetPort: 'http' }] } });
    const [, publicService] = parseAllDocuments(manifestOf('Main')).map((d) => d.toJS());
    expect(publicService.spec.type).toBe('LoadBalancer');
  });

  test('every manifest path is traced to its schema section', () => {
    const container = 'Deployment.spec.template.spec.containers[name=agent]';
    expect(manifestSection(`${container}.env[name=ADOS_MEMORY_WORKING_RETENTION].value`)).toBe('memoryTopology');
    expect(manifestSection(`${container}.env[name=ADOS_TIMEOUT_MS].value`)).toBe('deployment');
    expect(manifestSection(`${container}.env[name=ADOS_PRIMARY_MODEL].value`)).toBe('reasoning');
    expect(manifestSection('Deployment.metadata.annotations["ados.dev/human-override"]')).toBe('governance');
    expect(manifestSection('Deployment.spec.replicas')).toBe('deployment');
    expect(manifestSection(`${container}.resources.limits.memory`)).toBe('deployment');
    expect(manifestSection('Service.spec.type')).toBe('deployment');
    expect(manifestSection('Deployment.metadata.labels["app.kubernetes.io/part-of"]')).toBe('metadata');
    expect(manifestSection(`${container}.securityContext`)).toBe('other');
  });

  const recorded = manifestOf('Main');
  const cases: Array<{ name: string; edit: (text: string) => string; severity: string; sections: string[] }> = [
    { name: 'replicas scaled by hand', edit: (t) => t.replace('replicas: 2', 'replicas: 5'), severity: 'critical', sections: ['deployment'] },
    { name: 'human override switched off', edit: (t) => t.replace('ados.dev/human-override: "true"', 'ados.dev/human-override: "false"'), severity: 'critical', sections: ['governance'] },
    { name: 'working memory retention shortened', edit: (t) => t.replace('value: 14 days', 'value: 1 days'), severity: 'critical', sections: ['memoryTopology'] },
    { name: 'the primary model swapped', edit: (t) => t.replace('value: planner-large', 'value: planner-small'), severity: 'major', sections: ['reasoning'] },
    { name: 'a label added', edit: (t) => t.replace('  labels:\n', '  labels:\n    team: core\n'), severity: 'minor', sections: ['metadata'] },
    { name: 'reformatted only', edit: (t) => `${t.split('\n').slice(1).join('\n')}`, severity: 'minor', sections: ['formatting'] },
    { name: 'broken YAML', edit: (t) => `${t}\n  - : [`, severity: 'critical', sections: ['unparseable'] },
  ];

  test.each(cases)('drift: $name → $severity ($sections)', ({ edit, severity, sections }) => {
    const deployed = edit(recorded);
    expect(deployed).not.toBe(recorded);
    const drift = classifyManifestDrift(recorded, deployed);
    expect({ severity: drift.severity, sections: drift.sections }).toEqual({ severity, sections });
  });

  test('no drift when the text is identical; remediation puts roll back first for critical drift', () => {
    expect(classifyManifestDrift(recorded, recorded)).toEqual({ sections: [], changes: [] });
    const critical = remediation({ agent: 'Main', status: 'drifted', severity: 'critical' }, 'deployed');
    expect(critical.map((r) => r.split(':')[0])).toEqual(['roll back', 're-extract', 'accept']);
    expect(critical[0]).toBe('roll back: write the recorded manifest back: ados schema drift --dir deployed --rollback "Main"');
    expect(remediation({ agent: 'Main', status: 'drifted', severity: 'minor' }, 'd').map((r) => r.split(':')[0])).toEqual(['accept', 'roll back', 're-extract']);
    expect(remediation({ agent: 'Main', status: 'in-sync' }, 'd')).toEqual([]);
  });
});
