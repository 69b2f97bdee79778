/**
 * The seven validation layers over the fixtures: the seed set is valid (strictly), and each invalid fixture in
 * test/fixtures/schemas/<layer>/ fails at its layer with an issue naming the file, the path and the fix.
 */
import path from 'node:path';
import { readSchemaDir, readSchemaFiles, validateFiles } from '../../client/extraction';
import { validateExtractionInput } from '../../shared/contract/extraction/messages';
import { agentSchema } from '../../shared/contract/extraction/schema';
import { parseSchemaText } from '../../shared/contract/extraction/syntax';
import {
  checkConsistency,
  checkDependencies,
  checkGovernance,
  checkPerformance,
  checkStructure,
  checkTypes,
  formatSchemaIssue,
  validateSchemaSet,
  type SchemaIssue,
} from '../../shared/contract/extraction/validate';
import { parseExtractionWorkflowId, extractionWorkflowId } from '../../shared/contract/workflow-ids';
import { agentDocument, documentOf, INVALID_DIR, SEED_DIR, seedDocuments } from '../helpers/extraction';

const fixture = (layer: string) => readSchemaDir(path.join(INVALID_DIR, layer));
const brief = (issues: SchemaIssue[]) => issues.map((i) => `${i.file}: ${i.path}: ${i.severity} [${i.layer}] ${i.message}`);

describe('the seed set (examples/schemas)', () => {
  test('passes every layer in strict mode, in dependency-resolvable form', () => {
    const report = validateFiles(readSchemaDir(SEED_DIR), true);
    expect(report.issues).toEqual([]);
    expect(report).toMatchObject({ ok: true, strict: true, errors: 0, warnings: 0 });
    expect(report.schemas.map((s) => [s.file, s.schema?.name, s.schema?.dependsOn])).toEqual([
      ['auditor.yaml', 'Auditor', ['TensorAIOS', 'Main']],
      ['main.yaml', 'Main', ['TensorAIOS']],
      ['plastos-adapter.yaml', 'PlastOS Adapter', ['Main', 'TensorAIOS']],
      ['tensoraios.yaml', 'TensorAIOS', []],
      ['trainer.yaml', 'Trainer', ['TensorAIOS']],
    ]);
  });

  test('the same documents as JSON validate the same way', () => {
    const documents = seedDocuments();
    const json = documents.map((d) => parseSchemaText(d.file.replace(/\.yaml$/, '.json'), JSON.stringify(d.document)));
    expect(json.every((p) => p.ok)).toBe(true);
    const report = validateSchemaSet(json.map((p, i) => ({ file: documents[i].file, document: (p as { document: unknown }).document })), { strict: true });
    expect(report.ok).toBe(true);
  });
});

describe('layer 1: syntax', () => {
  test('an unclosed flow list is refused with its line and column; the document goes no further', () => {
    const read = fixture('syntax');
    expect(read.sources).toEqual([]);
    expect(brief(read.syntaxIssues)).toEqual([
      'unclosed-list.yaml: line 11, column 3: error [syntax] not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    expect(validateFiles(read).ok).toBe(false);
  });

  test('invalid JSON, a duplicate key, an empty file', () => {
    expect(parseSchemaText('a.json', '{"name": ')).toMatchObject({ ok: false, issues: [{ layer: 'syntax', path: '(root)', message: expect.stringMatching(/^not valid JSON: /) }] });
    const duplicate = parseSchemaText('a.yaml', 'name: A\nname: B\n');
    expect(duplicate).toMatchObject({ ok: false, issues: [{ layer: 'syntax', path: 'line 2, column 1', message: expect.stringContaining('Map keys must be unique') }] });
    expect(parseSchemaText('a.yaml', '# nothing\n')).toMatchObject({ ok: false, issues: [{ layer: 'syntax', message: 'the file is empty: write a schema (name, version, kind, ...)' }] });
  });
});

describe('layer 2: structure', () => {
  test('a missing section is an error, an unknown one a warning', () => {
    const report = validateFiles(fixture('structure'));
    expect(brief(report.issues)).toEqual([
      'missing-governance.yaml: governance: error [structure] required section "governance" is missing',
      'missing-governance.yaml: metdata: warning [structure] unknown section "metdata" is ignored; known sections: name, version, kind, system, integration, governance, memoryTopology, communication, reasoning, learning, deployment, dependsOn, metadata',
    ]);
    // The types layer does not run on a document that failed structure.
    expect(report.schemas[0].schema).toBeUndefined();
  });

  test('a list where a mapping belongs, a missing or malformed version, a document that is not a mapping', () => {
    const doc = { ...agentDocument('A', []), deployment: ['replicas: 2'] };
    expect(checkStructure('a.yaml', doc)).toEqual([{ layer: 'structure', severity: 'error', file: 'a.yaml', path: 'deployment', message: 'must be a mapping of fields, got a list' }]);
    const report = validateSchemaSet([
      { file: 'noversion.yaml', document: { ...agentDocument('B', []), version: undefined } },
      { file: 'badversion.yaml', document: { ...agentDocument('C', []), version: 6.1 } },
      { file: 'list.yaml', document: [1, 2] },
    ]);
    expect(brief(report.issues)).toEqual([
      'noversion.yaml: version: error [structure] required: write the schema version, e.g. version: "6.1.0"',
      'badversion.yaml: version: error [structure] must be a semantic version such as "6.1.0" (quote it in YAML), got 6.1',
      'list.yaml: (root): error [structure] a schema must be a mapping of sections (name, version, kind, ...), got a list',
    ]);
  });
});

describe('layer 3: types', () => {
  test('a fractional timeoutMs, an unknown governance mode and a retention in weeks, each named by path', () => {
    expect(brief(validateFiles(fixture('types')).issues)).toEqual([
      'wrong-types.yaml: governance.mode: error [types] must be one of "hybrid", "autonomous", "supervised"',
      'wrong-types.yaml: memoryTopology.episodic.retention: error [types] must be "<n> days", "<n> months" or "<n> years", e.g. "30 days"',
      'wrong-types.yaml: deployment.timeoutMs: error [types] must be a whole number',
    ]);
  });

  test('retention accepts days, months and years (singular too) and nothing else', () => {
    const retention = agentSchema.shape.memoryTopology.shape.working.shape.retention;
    for (const ok of ['30 days', '1 day', '6 months', '1 month', '2 years', '1 year']) expect(retention.safeParse(ok).success).toBe(true);
    for (const bad of ['30days', '30 weeks', '0 days', 'thirty days', '1.5 years', ' 30 days']) expect(retention.safeParse(bad).success).toBe(false);
  });

  test('a missing field says what is expected; an unknown nested field is a warning', () => {
    const doc = agentDocument('A', []);
    delete (doc.deployment as Record<string, unknown>).replicas;
    (doc.governance as Record<string, unknown>).humanOveride = true;
    const { schema, issues } = checkTypes('a.yaml', doc);
    expect(schema).toBeUndefined();
    expect(brief(issues)).toEqual([
      'a.yaml: deployment.replicas: error [types] required: expected a number',
      'a.yaml: governance.humanOveride: warning [types] unknown field is ignored: check its spelling',
    ]);
  });
});

describe('layer 4: dependencies', () => {
  test('a cycle is reported once, as the path around it', () => {
    expect(brief(validateFiles(fixture('dependencies-cycle')).issues)).toEqual([
      'alpha.yaml: dependsOn: error [dependencies] dependency cycle: Alpha → Gamma → Beta → Alpha (each depends on the next); break it by removing one of these dependsOn entries',
    ]);
  });

  test('unknown dependencies (with a suggestion) and a private API without authentication', () => {
    const lonely = fixture('dependencies-unknown');
    const tensor = readSchemaFiles([path.join(SEED_DIR, 'tensoraios.yaml')], (p) => path.basename(p));
    const documents = [...lonely.sources, ...tensor.sources];
    documents[0] = { ...documents[0], document: { ...(documents[0].document as object), dependsOn: ['tensoraios', 'Mian'] } };
    expect(brief(validateSchemaSet(documents).issues)).toEqual([
      'lonely.yaml: dependsOn[0]: error [dependencies] unknown agent "tensoraios" (did you mean "TensorAIOS"?); agents in this set: Lonely, TensorAIOS',
      'lonely.yaml: dependsOn[1]: error [dependencies] unknown agent "Mian"; agents in this set: Lonely, TensorAIOS',
      'lonely.yaml: deployment.authRequired: error [dependencies] a private API (deployment.apiMode: private) must require authentication: set authRequired: true',
    ]);
  });

  test('duplicate names, names that collide as file names, self-dependencies and repeats', () => {
    const parse = (doc: Record<string, unknown>) => agentSchema.parse(doc);
    const issues = checkDependencies([
      { file: 'a.yaml', schema: parse(agentDocument('Agent One', ['Agent One'])) },
      { file: 'b.yaml', schema: parse(agentDocument('Agent One', [])) },
      { file: 'c.yaml', schema: parse(agentDocument('agent-one', [])) },
      { file: 'd.yaml', schema: parse(agentDocument('D', ['agent-one', 'agent-one'])) },
    ]);
    expect(issues.map((i) => `${i.file}: ${i.path}: ${i.message}`)).toEqual([
      'b.yaml: name: duplicate agent name "Agent One" (also in a.yaml)',
      'c.yaml: name: "agent-one" and "Agent One" both become "agent-one" in file and Kubernetes names: rename one',
      'a.yaml: dependsOn[0]: "Agent One" cannot depend on itself',
      'd.yaml: dependsOn[1]: "agent-one" is listed twice',
    ]);
  });
});

describe('a set of 120 agents with one invalid agent: no cascade, no list of 120 names', () => {
  const agentName = (n: number) => `Agent${String(n).padStart(3, '0')}`;
  /** Agent001 … Agent120; Agent004–Agent013 depend on Agent003, whose governance mode fails the types layer. */
  function largeSet(): Array<{ file: string; document: Record<string, unknown> }> {
    return Array.from({ length: 120 }, (_, i) => {
      const name = agentName(i + 1);
      const dependsOn = i + 1 >= 4 && i + 1 <= 13 ? ['Agent003'] : [];
      const document = agentDocument(name, dependsOn);
      if (name === 'Agent003') (document.governance as Record<string, unknown>).mode = 'sometimes';
      return { file: `${name.toLowerCase()}.yaml`, document };
    });
  }
  const namesIn = (message: string) => message.match(/Agent\d{3}/g) ?? [];
  /** The first ten names of the set once Agent003 is left out. */
  const firstTen = ['Agent001', 'Agent002', ...Array.from({ length: 8 }, (_, i) => agentName(i + 4))].join(', ');

  test('a dependent of the invalid agent is told so, once per dependency, without the list of the set', () => {
    const report = validateSchemaSet(largeSet());
    const errors = report.issues.filter((i) => i.severity === 'error');
    expect(brief(errors.filter((i) => i.file !== 'agent003.yaml'))).toEqual(
      Array.from({ length: 10 }, (_, i) => {
        const file = `${agentName(i + 4).toLowerCase()}.yaml`;
        return `${file}: dependsOn[0]: error [dependencies] depends on "Agent003", which is invalid (see the errors in agent003.yaml)`;
      }),
    );
    expect(brief(errors.filter((i) => i.file === 'agent003.yaml'))).toEqual(['agent003.yaml: governance.mode: error [types] must be one of "hybrid", "autonomous", "supervised"']);
    for (const issue of report.issues) expect(issue.message).not.toContain('unknown agent');
    for (const issue of report.issues) expect(namesIn(issue.message).length).toBeLessThanOrEqual(1);
  });

  test('an unknown agent lists the first ten names and counts the rest; the suggestion stays', () => {
    const documents = largeSet();
    documents[99].document.dependsOn = ['Agent999', 'agent050'];
    const issues = validateSchemaSet(documents).issues;
    for (const issue of issues) expect(namesIn(issue.message).length).toBeLessThanOrEqual(12);
    const messages = issues.filter((i) => i.file === 'agent100.yaml').map((i) => `${i.path}: ${i.message}`);
    expect(messages).toEqual([
      `dependsOn[0]: unknown agent "Agent999"; agents in this set: ${firstTen}, … and 109 more`,
      `dependsOn[1]: unknown agent "agent050" (did you mean "Agent050"?); agents in this set: ${firstTen}, … and 109 more`,
    ]);
  });

  test('a cycle through all 120 agents is cut too, and still reads as a loop', () => {
    const documents = Array.from({ length: 120 }, (_, i) => ({ file: `${agentName(i + 1)}.yaml`, document: agentDocument(agentName(i + 1), [agentName(((i + 1) % 120) + 1)]) }));
    const issues = validateSchemaSet(documents).issues;
    expect(issues.map((i) => i.message)).toEqual([
      `dependency cycle: ${Array.from({ length: 10 }, (_, i) => agentName(i + 1)).join(' → ')} → … and 110 more → Agent001 (each depends on the next); break it by removing one of these dependsOn entries`,
    ]);
  });

  test('a file whose agent name could not be read is named to the agents with an unknown dependency', () => {
    const documents = largeSet().filter((d) => d.file !== 'agent003.yaml');
    const syntaxIssues: SchemaIssue[] = [{ layer: 'syntax', severity: 'error', file: 'agent003.yaml', path: 'line 2, column 1', message: 'not valid YAML: …' }];
    const issue = validateSchemaSet(documents, { syntaxIssues }).issues.find((i) => i.file === 'agent004.yaml');
    expect(issue?.message).toBe(`unknown agent "Agent003"; agents in this set: ${firstTen}, … and 109 more; no agent name could be read from agent003.yaml (see its errors): it may be there`);
  });

  test('a breaking migration needed by 120 agents is asked for once, naming ten of them', () => {
    const [tensor59] = readSchemaFiles([path.join(INVALID_DIR, 'migrations', 'tensoraios-5.9.yaml')], (p) => path.basename(p)).sources;
    const documents = Array.from({ length: 120 }, (_, i) => ({ file: `${agentName(i + 1)}.yaml`, document: { ...(tensor59.document as object), name: agentName(i + 1) } }));
    const checked = validateExtractionInput({ tenantId: 'acme', setName: 'big', requestedBy: 'c', documents });
    expect(!checked.ok && checked.issues.map((i) => i.path)).toEqual(['approval']);
    const message = !checked.ok ? checked.issues[0].message : '';
    expect(message).toContain('Agent010 (5.9.0 → 6.0.0), … and 110 more need a breaking migration');
    expect(namesIn(message)).toHaveLength(10);
  });
});

describe('layer 5: governance', () => {
  test('a human override with an empty escalation policy is an error', () => {
    expect(brief(validateFiles(fixture('governance')).issues)).toEqual([
      'override-without-escalation.yaml: governance.escalationPolicy: error [governance] humanOverride is on, so the escalation policy cannot be empty: add a step such as { level: 1, notify: on-call, afterMinutes: 0 }',
    ]);
  });

  test('no override needs no policy; decreasing levels are a warning', () => {
    const off = agentSchema.parse(agentDocument('A', [], { governance: { mode: 'autonomous', humanOverride: false, escalationPolicy: [] } }));
    expect(checkGovernance('a.yaml', off)).toEqual([]);
    const unordered = agentSchema.parse(
      agentDocument('A', [], { governance: { mode: 'hybrid', humanOverride: true, escalationPolicy: [{ level: 2, notify: 'x' }, { level: 1, notify: 'y' }] } }),
    );
    expect(brief(checkGovernance('a.yaml', unordered))).toEqual(['a.yaml: governance.escalationPolicy[1].level: warning [governance] levels should increase (level 1 follows level 2)']);
  });
});

describe('layer 6: consistency (warnings)', () => {
  test('working memory shorter than the reasoning horizon: a warning, fatal only in strict mode', () => {
    const read = fixture('consistency');
    const lenient = validateFiles(read);
    expect(lenient).toMatchObject({ ok: true, errors: 0, warnings: 1 });
    expect(brief(lenient.issues)).toEqual([
      'short-working-memory.yaml: memoryTopology.working.retention: warning [consistency] working memory keeps "1 days" but the reasoning horizon is "14 days": the agent forgets context it still reasons about; lengthen the retention or shorten reasoning.horizon',
    ]);
    expect(validateFiles(read, true)).toMatchObject({ ok: false, strict: true });
  });

  test('months and years compare as 30 and 365 days; a timeout below the decision budget warns', () => {
    const base = agentDocument('A', []);
    const schema = (working: string, horizon: string, timeoutMs = 1000) =>
      agentSchema.parse({
        ...base,
        memoryTopology: { working: { store: 's', retention: working } },
        reasoning: { ...(base.reasoning as object), horizon },
        deployment: { ...(base.deployment as object), timeoutMs },
      });
    expect(checkConsistency('a', schema('1 months', '30 days'))).toEqual([]);
    expect(checkConsistency('a', schema('11 months', '1 years')).map((i) => i.path)).toEqual(['memoryTopology.working.retention']);
    expect(checkConsistency('a', schema('1 years', '365 days', 100)).map((i) => i.path)).toEqual(['deployment.timeoutMs']);
  });
});

describe('layer 7: performance (warnings)', () => {
  test('a decision budget under 100 ms with a remote episodic store', () => {
    expect(brief(validateFiles(fixture('performance')).issues)).toEqual([
      'remote-episodic-fast.yaml: reasoning.decisionLatencyMs: warning [performance] a decision budget of 40 ms (< 100 ms) with a remote episodic store (memoryTopology.episodic.location: remote) leaves no time for the round trip; use a local store or raise the budget',
    ]);
  });

  test('100 ms exactly, or a local store, is fine', () => {
    const base = agentDocument('A', []);
    const schema = (location: 'local' | 'remote', decisionLatencyMs: number) =>
      agentSchema.parse({
        ...base,
        memoryTopology: { working: { store: 's', retention: '7 days' }, episodic: { store: 'e', retention: '30 days', location } },
        reasoning: { ...(base.reasoning as object), decisionLatencyMs },
      });
    expect(checkPerformance('a', schema('remote', 100))).toEqual([]);
    expect(checkPerformance('a', schema('local', 10))).toEqual([]);
    expect(checkPerformance('a', schema('remote', 99))).toHaveLength(1);
  });
});

describe('the extraction request', () => {
  test('envelope errors name the field', () => {
    const checked = validateExtractionInput({ tenantId: 'Acme-1', setName: 'seed', requestedBy: 'c', documents: [], maxParallel: 0 });
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.issues).toEqual([
      { path: 'tenantId', message: 'use lowercase letters, digits and "_" (no dashes), starting with a letter or digit' },
      { path: 'documents', message: 'give at least one schema' },
      { path: 'maxParallel', message: 'must be at least 1' },
    ]);
  });

  test('schema issues are reported as file: path, with layer and severity; strict mode blocks on warnings', () => {
    const documents = seedDocuments();
    (documentOf(documents, 'Main').reasoning as Record<string, unknown>).horizon = '1 years';
    const lenient = validateExtractionInput({ tenantId: 'acme', setName: 'seed', requestedBy: 'c', documents });
    expect(lenient.ok).toBe(true);
    const strict = validateExtractionInput({ tenantId: 'acme', setName: 'seed', requestedBy: 'c', documents, strict: true });
    expect(!strict.ok && strict.issues).toEqual([
      {
        path: 'main.yaml: memoryTopology.working.retention',
        message: 'warning [consistency] working memory keeps "14 days" but the reasoning horizon is "1 years": the agent forgets context it still reasons about; lengthen the retention or shorten reasoning.horizon',
      },
    ]);
  });

  test('formatSchemaIssue puts the file first', () => {
    expect(formatSchemaIssue({ layer: 'types', severity: 'error', file: 'a.yaml', path: 'kind', message: 'm' })).toBe('a.yaml: kind: error [types] m');
  });
});

describe('extraction workflow IDs', () => {
  test('build and parse back, dashes in the set name included', () => {
    const id = extractionWorkflowId('acme', 'agent-schemas.v2', '0a1b2c3d');
    expect(id).toBe('extraction-acme-agent-schemas.v2-0a1b2c3d');
    expect(parseExtractionWorkflowId(id)).toEqual({ tenantId: 'acme', setName: 'agent-schemas.v2', hash8: '0a1b2c3d' });
  });

  test('refuse what is not one', () => {
    for (const id of ['delivery-acme-r1', 'extraction-acme-set', 'extraction-acme-set-0A1B2C3D', 'extraction-Acme-set-0a1b2c3d', 'extraction-acme--0a1b2c3d']) {
      expect(parseExtractionWorkflowId(id)).toBeUndefined();
    }
  });
});
