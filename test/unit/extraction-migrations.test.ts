/**
 * The schema migration registry: the chain 5.9 → 6.0 → 6.1 (rename, add with default, deprecate with a warning),
 * what is recorded per step, refused versions, the migration guide, and `schema diff`.
 */
import path from 'node:path';
import { readSchemaFiles } from '../../client/extraction';
import { diffSchemas, diffValues, sectionImpact } from '../../shared/contract/extraction/diff';
import {
  applyMigration,
  deprecatedFields,
  migrateDocument,
  migrationGuide,
  migrationPath,
  SCHEMA_MIGRATIONS,
  type SchemaMigration,
} from '../../shared/contract/extraction/migrations';
import { CURRENT_SCHEMA_VERSION } from '../../shared/contract/extraction/schema';
import { validateSchemaSet } from '../../shared/contract/extraction/validate';
import { INVALID_DIR, SEED_DIR } from '../helpers/extraction';

const load = (...files: string[]) => readSchemaFiles(files, (p) => path.basename(p)).sources.map((s) => s.document as Record<string, unknown>);
const [tensor59] = load(path.join(INVALID_DIR, 'migrations', 'tensoraios-5.9.yaml'));
const [tensor60] = load(path.join(INVALID_DIR, 'migrations', 'tensoraios-6.0.yaml'));
const [tensor61] = load(path.join(SEED_DIR, 'tensoraios.yaml'));

describe('the chain 5.9 → 6.0 → 6.1', () => {
  test('the current version is 6.1.0 and the path from 5.9.x has two steps, the first breaking', () => {
    expect(CURRENT_SCHEMA_VERSION).toBe('6.1.0');
    const plan = migrationPath('5.9.4');
    expect(plan.ok && plan.migrations.map((m) => [m.id, m.breaking])).toEqual([
      ['5.9-to-6.0', true],
      ['6.0-to-6.1', false],
    ]);
    const fromSix = migrationPath('6.0.0');
    expect(fromSix.ok && fromSix.migrations.map((m) => m.id)).toEqual(['6.0-to-6.1']);
    expect(migrationPath('6.1.7')).toEqual({ ok: true, migrations: [] });
  });

  test('a 5.9 document becomes a valid 6.1 document; every change is recorded per step', () => {
    const outcome = migrateDocument(tensor59);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.applied).toEqual([
      {
        id: '5.9-to-6.0',
        from: '5.9.0',
        to: '6.0.0',
        breaking: true,
        changes: [
          { op: 'rename', path: 'memory', to: 'memoryTopology', message: 'renamed memory → memoryTopology (the section describes the memory topology (working, episodic, semantic stores))' },
          { op: 'rename', path: 'deployment.timeout', to: 'deployment.timeoutMs', message: 'renamed deployment.timeout → deployment.timeoutMs (the unit is part of the name)' },
          { op: 'rename', path: 'reasoning.model', to: 'reasoning.primaryModel', message: 'renamed reasoning.model → reasoning.primaryModel (a fallback model may be named beside it)' },
          { op: 'add', path: 'deployment.authRequired', value: true, message: 'added deployment.authRequired = true (authentication is explicit; secure by default)' },
        ],
        warnings: [],
      },
      {
        id: '6.0-to-6.1',
        from: '6.0.0',
        to: '6.1.0',
        breaking: false,
        changes: [
          { op: 'add', path: 'learning.driftThreshold', value: 0.1, message: 'added learning.driftThreshold = 0.1 (drift monitoring needs a threshold)' },
          { op: 'add', path: 'deployment.apiMode', value: 'private', message: 'added deployment.apiMode = "private" (the API mode is explicit; private by default)' },
          {
            op: 'deprecate',
            path: 'reasoning.fallbackModel',
            message: 'reasoning.fallbackModel is deprecated since 6.1.0 and will be removed in 7.0.0: fallbacks are expressed as reasoning.strategies; the extractor ignores this field; remove it',
          },
        ],
        warnings: [
          'reasoning.fallbackModel is deprecated since 6.1.0 and will be removed in 7.0.0: fallbacks are expressed as reasoning.strategies; the extractor ignores this field; remove it',
        ],
      },
    ]);
    const doc = outcome.document as Record<string, Record<string, unknown>>;
    expect(doc.version).toBe('6.1.0');
    expect(doc.memory).toBeUndefined();
    expect(doc.memoryTopology).toEqual(tensor61.memoryTopology);
    expect(doc.deployment).toMatchObject({ timeoutMs: 5000, authRequired: true, apiMode: 'private' });
    expect(doc.deployment.timeout).toBeUndefined();
    expect(doc.reasoning).toMatchObject({ primaryModel: 'tensor-core-v3', fallbackModel: 'tensor-core-v2' });
    // The input is not modified.
    expect(tensor59.version).toBe('5.9.0');
    expect(tensor59.memory).toBeDefined();
  });

  test('the migrated document passes validation, with the deprecation as a warning (so strict mode refuses it)', () => {
    const report = validateSchemaSet([{ file: 'tensoraios-5.9.yaml', document: tensor59 }]);
    expect(report.ok).toBe(true);
    expect(report.schemas[0]).toMatchObject({ originalVersion: '5.9.0', schema: { version: '6.1.0' } });
    expect(report.schemas[0].migrations.map((m) => m.id)).toEqual(['5.9-to-6.0', '6.0-to-6.1']);
    expect(report.issues.map((i) => [i.layer, i.severity, i.path])).toEqual([['types', 'warning', 'reasoning.fallbackModel']]);
    expect(validateSchemaSet([{ file: 't', document: tensor59 }], { strict: true }).ok).toBe(false);
  });

  test('6.0 → 6.1 alone adds what is missing and keeps what is there', () => {
    const outcome = migrateDocument({ ...tensor60, learning: { driftThreshold: 0.3 } });
    expect(outcome.ok && outcome.applied.map((m) => m.changes.map((c) => `${c.op} ${c.path}`))).toEqual([['add deployment.apiMode', 'deprecate reasoning.fallbackModel']]);
    expect(outcome.ok && (outcome.document.learning as Record<string, unknown>).driftThreshold).toBe(0.3);
  });

  test('a current document is untouched', () => {
    const outcome = migrateDocument(tensor61);
    expect(outcome).toEqual({ ok: true, document: tensor61, applied: [] });
  });
});

describe('edge cases of a step', () => {
  const registry: SchemaMigration[] = [
    {
      id: 'a-to-b',
      from: '1.0.0',
      to: '2.0.0',
      breaking: true,
      summary: 's',
      steps: [
        { op: 'rename', from: 'old', to: 'new', why: 'w' },
        { op: 'add', path: 'section.flag', default: false, why: 'w' },
      ],
    },
  ];

  test('both names present: the new one wins, with a warning to remove the old', () => {
    const { document, applied } = applyMigration({ version: '1.0.0', old: 1, new: 2, section: {} }, registry[0]);
    expect(document).toEqual({ version: '2.0.0', new: 2, section: { flag: false } });
    expect(applied.warnings).toEqual(['old and new are both present: kept new, dropped old; remove old']);
  });

  test('an add into a missing section does not create the section (the structure layer reports it)', () => {
    const { document, applied } = applyMigration({ version: '1.0.0' }, registry[0]);
    expect(document).toEqual({ version: '2.0.0' });
    expect(applied.changes).toEqual([]);
  });

  test('versions with no path, and newer versions, are refused with the fix', () => {
    expect(migrationPath('4.2.0')).toEqual({
      ok: false,
      message: 'no migration from 4.2.0 toward 6.1.0; migrations exist from 5.9.0, 6.0.0 (oldest supported: 5.9.0): rewrite the schema for 6.1.0',
    });
    expect(migrationPath('7.0.0')).toEqual({ ok: false, message: 'version 7.0.0 is newer than this ADOS supports (6.1.0): upgrade ADOS or write the schema for 6.1.0' });
    expect(migrationPath('6.1')).toEqual({ ok: false, message: '"6.1" is not a semantic version such as "6.1.0"' });
    expect(migrationPath('1.0.3', '2.0.0', registry)).toEqual({ ok: true, migrations: registry });
  });

  test('the deprecated fields are listed from the registry', () => {
    expect(deprecatedFields()).toEqual([
      { path: 'reasoning.fallbackModel', since: '6.1.0', removeIn: '7.0.0', why: 'fallbacks are expressed as reasoning.strategies; the extractor ignores this field' },
    ]);
    expect(SCHEMA_MIGRATIONS.every((m) => m.steps.length > 0)).toBe(true);
  });
});

describe('the migration guide and schema diff', () => {
  test('the guide lists each step and flags the breaking one', () => {
    expect(migrationGuide('5.9.0', '6.1.0')).toEqual([
      '5.9.0 → 6.0.0 (5.9-to-6.0) BREAKING: extraction waits for a human approval: memory is now memoryTopology, deployment timeouts are in milliseconds by name, and auth is explicit',
      '  - rename memory → memoryTopology: the section describes the memory topology (working, episodic, semantic stores)',
      '  - rename deployment.timeout → deployment.timeoutMs: the unit is part of the name',
      '  - rename reasoning.model → reasoning.primaryModel: a fallback model may be named beside it',
      '  - add deployment.authRequired (default true): authentication is explicit; secure by default',
      '6.0.0 → 6.1.0 (6.0-to-6.1): learning gets a drift threshold and the API mode is explicit; the fallback model is deprecated',
      '  - add learning.driftThreshold (default 0.1): drift monitoring needs a threshold',
      '  - add deployment.apiMode (default "private"): the API mode is explicit; private by default',
      '  - deprecate reasoning.fallbackModel (removed in 7.0.0): fallbacks are expressed as reasoning.strategies; the extractor ignores this field',
      'ADOS applies these automatically before extraction and records each one.',
    ]);
    expect(migrationGuide('6.1.0', '6.1.3')).toEqual(['6.1.0 → 6.1.3: same format version; no migration needed']);
    expect(migrationGuide('6.1.0', '5.9.0')[0]).toContain('is a downgrade');
  });

  test('diff: each change with its section and impact, explained by a migration step where one applies', () => {
    const diff = diffSchemas(tensor59, tensor61);
    expect(diff).toMatchObject({ fromVersion: '5.9.0', toVersion: '6.1.0', breaking: true, impact: 'critical' });
    const rows = diff.changes.map((c) => `${c.impact} ${c.kind} ${c.path}${c.migration ? ` [${c.migration}]` : ''}`);
    expect(rows).toEqual([
      'critical added deployment.apiMode [6.0-to-6.1: add deployment.apiMode]',
      'critical added deployment.authRequired [5.9-to-6.0: add deployment.authRequired]',
      'critical removed deployment.timeout [5.9-to-6.0: rename deployment.timeout → deployment.timeoutMs]',
      'critical added deployment.timeoutMs [5.9-to-6.0: rename deployment.timeout → deployment.timeoutMs]',
      'major added learning.driftThreshold [6.0-to-6.1: add learning.driftThreshold]',
      'critical removed memory [5.9-to-6.0: rename memory → memoryTopology]',
      'critical added memoryTopology [5.9-to-6.0: rename memory → memoryTopology]',
      'major removed reasoning.fallbackModel [6.0-to-6.1: deprecate reasoning.fallbackModel]',
      'major removed reasoning.model [5.9-to-6.0: rename reasoning.model → reasoning.primaryModel]',
      'major added reasoning.primaryModel [5.9-to-6.0: rename reasoning.model → reasoning.primaryModel]',
      'critical changed version',
    ]);
    // What the author changed beyond the migrations.
    expect(diff.afterMigration?.map((c) => `${c.impact} ${c.kind} ${c.path}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`)).toEqual([
      'major changed learning.driftThreshold: 0.1 → 0.05',
      'major removed reasoning.fallbackModel: "tensor-core-v2" → undefined',
    ]);
  });

  test('diff of two versions of one format: named list items are matched by name; metadata is minor', () => {
    const after = JSON.parse(JSON.stringify(tensor61)) as Record<string, Record<string, unknown>>;
    (after.deployment.endpoints as Array<Record<string, unknown>>).reverse()[0].port = 9001;
    after.metadata.tier = '2';
    const diff = diffSchemas(tensor61, after);
    expect(diff.changes.map((c) => [c.path, c.impact, c.before, c.after])).toEqual([
      ['deployment.endpoints[name=http].port', 'critical', 8080, 9001],
      ['metadata.tier', 'minor', '1', '2'],
    ]);
    expect(diff).toMatchObject({ breaking: false, guide: ['6.1.0 → 6.1.0: same format version; no migration needed'], afterMigration: diff.changes });
  });

  test('section impacts', () => {
    expect(['governance', 'memoryTopology', 'deployment'].map(sectionImpact)).toEqual(['critical', 'critical', 'critical']);
    expect(['reasoning', 'learning', 'communication', 'system', 'kind'].map(sectionImpact)).toEqual(['major', 'major', 'major', 'major', 'major']);
    expect(sectionImpact('metadata')).toBe('minor');
    expect(diffValues({ a: [1, 2] }, { a: [1, 2, 3] })).toEqual([{ path: 'a', kind: 'changed', before: [1, 2], after: [1, 2, 3] }]);
  });
});
