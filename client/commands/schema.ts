import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { acceptDeployedManifest, detectDrift, rollBackManifest, type DriftReport } from '../../shared/node/extraction/drift';
import { diffSchemas, type SchemaDiff } from '../../shared/contract/extraction/diff';
import { formatSchemaIssue } from '../../shared/contract/extraction/validate';
import { InputValidationError } from '../../shared/contract/validation';
import { openCliDatabase, readSchemaFiles, validateFiles } from '../extraction';
import { emit } from '../output';
import { loadConfig } from '../../shared/node/config';

const short = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text === undefined ? 'undefined' : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

export function formatDiff(diff: SchemaDiff, oldFile: string, newFile: string): string {
  const lines = [`${oldFile} (${diff.fromVersion ?? '?'}) → ${newFile} (${diff.toVersion ?? '?'}): ${diff.changes.length} change(s)${diff.impact ? `, impact ${diff.impact}` : ''}`];
  for (const c of diff.changes) {
    const what = c.kind === 'added' ? `+ ${short(c.after)}` : c.kind === 'removed' ? `- ${short(c.before)}` : `${short(c.before)} → ${short(c.after)}`;
    lines.push(`  ${c.impact.padEnd(8)} ${c.path}: ${what}${c.migration ? `  [${c.migration}]` : ''}`);
  }
  if (diff.afterMigration) {
    lines.push('', `after the migrations, ${diff.afterMigration.length} change(s) by the author remain:`);
    for (const c of diff.afterMigration) {
      const what = c.kind === 'added' ? `+ ${short(c.after)}` : c.kind === 'removed' ? `- ${short(c.before)}` : `${short(c.before)} → ${short(c.after)}`;
      lines.push(`  ${c.impact.padEnd(8)} ${c.path}: ${what}`);
    }
  }
  lines.push('', 'migration guide:', ...diff.guide.map((l) => `  ${l}`));
  return lines.join('\n');
}

export function formatDrift(report: DriftReport): string {
  if (report.entries.length === 0) return `no manifests recorded for tenant ${report.tenantId} and none found in ${report.dir}`;
  const lines = [`drift of ${report.dir} against tenant ${report.tenantId}: ${report.drifted} of ${report.entries.length} manifest(s) differ`];
  for (const e of report.entries) {
    lines.push(`  ${e.agent}  ${e.path}  ${e.status}${e.severity ? ` (${e.severity})` : ''}${e.sections.length ? `  sections: ${e.sections.join(', ')}` : ''}`);
    for (const c of e.changes.slice(0, 12)) {
      lines.push(`      ${c.impact.padEnd(8)} [${c.section}] ${c.path}${c.kind === 'changed' && c.before !== undefined ? `: ${short(c.before)} → ${short(c.after)}` : c.kind === 'added' ? `: + ${short(c.after)}` : c.kind === 'removed' ? `: - ${short(c.before)}` : ''}`);
    }
    if (e.changes.length > 12) lines.push(`      ... and ${e.changes.length - 12} more (--json shows all)`);
    for (const r of e.remediation) lines.push(`      → ${r}`);
  }
  return lines.join('\n');
}

export function registerSchemaCommands(program: Command): void {
  const schema = program.command('schema').description('validate, compare and check drift of agent schemas');

  schema
    .command('validate')
    .description('run the seven validation layers over schema files, as one set (dependencies must be among them)')
    .argument('<files...>', '.yaml/.yml/.json schema files')
    .option('--strict', 'warnings fail too')
    .option('--json', 'print JSON')
    .action((files: string[], opts: { strict?: boolean; json?: boolean }) => {
      const report = validateFiles(readSchemaFiles(files), !!opts.strict);
      const migrated = report.schemas.filter((s) => s.migrations.length > 0);
      emit(!!opts.json, report, () =>
        [
          ...report.issues.map(formatSchemaIssue),
          ...migrated.map((s) => `${s.file}: migrates ${s.originalVersion} → ${s.migrations.at(-1)?.to}${s.migrations.some((m) => m.breaking) ? ' (breaking: extraction waits for approval)' : ''}`),
          `${report.ok ? 'valid' : 'invalid'}: ${report.schemas.length} schema(s), ${report.errors} error(s), ${report.warnings} warning(s)${report.strict ? ' (strict)' : ''}`,
        ].join('\n'),
      );
      if (!report.ok) {
        throw new InputValidationError('schema set', [
          { path: '(set)', message: `${report.errors} error(s), ${report.warnings} warning(s)${report.strict ? ' (strict: warnings count)' : ''}; see above` },
        ]);
      }
    });

  schema
    .command('diff')
    .description('print the changes between two versions of a schema and the migration guide')
    .argument('<old>', 'the old schema file')
    .argument('<new>', 'the new schema file')
    .option('--json', 'print JSON')
    .action((oldFile: string, newFile: string, opts: { json?: boolean }) => {
      const read = readSchemaFiles([oldFile, newFile]);
      const errors = read.syntaxIssues.filter((i) => i.severity === 'error');
      if (errors.length > 0) throw new InputValidationError('schema files', errors.map((i) => ({ path: `${i.file}: ${i.path}`, message: i.message })));
      const [before, after] = read.sources.map((s) => s.document);
      const asObject = (doc: unknown, file: string) => {
        if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InputValidationError('schema file', [{ path: `${file}: (root)`, message: 'must be a mapping of sections' }]);
        return doc as Record<string, unknown>;
      };
      const diff = diffSchemas(asObject(before, oldFile), asObject(after, newFile));
      emit(!!opts.json, diff, () => formatDiff(diff, oldFile, newFile));
    });

  schema
    .command('drift')
    .description('compare deployed manifests with the recorded ones; classify drift minor / major / critical and offer remediation')
    .option('--dir <dir>', 'the deployed directory (as written by ados extract --out)', 'deployed')
    .option('--tenant <id>', 'tenant whose records to compare with', 'default')
    .option('--accept <agent>', 'record the deployed manifest of this agent as its new baseline')
    .option('--rollback <agent>', 'write the recorded manifest of this agent back into the directory')
    .option('--check', 'exit 1 when anything drifted')
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; tenant: string; accept?: string; rollback?: string; check?: boolean; json?: boolean }) => {
      const database = await openCliDatabase(loadConfig(), 'drift');
      try {
        if (opts.accept) {
          const accepted = await acceptDeployedManifest(database.db, opts.tenant, opts.dir, opts.accept, userInfo().username);
          emit(!!opts.json, accepted, () => `accepted ${opts.dir}/${accepted.path} as the baseline of ${opts.accept} (sha256 ${accepted.sha256.slice(0, 12)})`);
          return;
        }
        if (opts.rollback) {
          const restored = await rollBackManifest(database.db, opts.tenant, opts.dir, opts.rollback);
          emit(!!opts.json, restored, () => `rolled back ${opts.dir}/${restored.path} to the recorded manifest of ${opts.rollback} (sha256 ${restored.sha256.slice(0, 12)})`);
          return;
        }
        const report = await detectDrift(database.db, opts.tenant, opts.dir);
        emit(!!opts.json, report, () => formatDrift(report));
        if (opts.check && report.drifted > 0) throw new Error(`${report.drifted} manifest(s) drifted (--check)`);
      } finally {
        await database.close();
      }
    });
}
