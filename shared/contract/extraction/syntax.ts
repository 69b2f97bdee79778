// `yaml` is required where it is used: a workflow's module scope is evaluated for every run, and only schema sets
// submitted as text are parsed.
const parseDocument: typeof import('yaml').parseDocument = (...args) => (require('yaml') as typeof import('yaml')).parseDocument(...args);
import type { SchemaIssue } from './validate';

/**
 * The syntax layer: a schema file's text parses as YAML (JSON is YAML too, but `.json` files are
 * parsed as strict JSON). Pure (the yaml package has no I/O), so the client and tests share it; the
 * workflow receives parsed documents and does not need it.
 */
/** `issues` holds the syntax layer's warnings (ok) or errors (not ok). */
export type ParsedText = { ok: true; document: unknown; issues: SchemaIssue[] } | { ok: false; issues: SchemaIssue[] };

export function parseSchemaText(file: string, text: string): ParsedText {
  if (file.endsWith('.json')) {
    try {
      return { ok: true, document: JSON.parse(text), issues: [] };
    } catch (error) {
      return { ok: false, issues: [{ layer: 'syntax', severity: 'error', file, path: '(root)', message: `not valid JSON: ${(error as Error).message}` }] };
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((error) => {
        const at = error.linePos?.[0];
        return {
          layer: 'syntax' as const,
          severity: 'error' as const,
          file,
          path: at ? `line ${at.line}, column ${at.col}` : '(root)',
          message: `not valid YAML: ${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
        };
      }),
    };
  }
  const issues: SchemaIssue[] = doc.warnings.map((warning) => ({
    layer: 'syntax' as const,
    severity: 'warning' as const,
    file,
    path: warning.linePos?.[0] ? `line ${warning.linePos[0].line}, column ${warning.linePos[0].col}` : '(root)',
    message: warning.message.split('\n')[0],
  }));
  const document = doc.toJS();
  if (document === null || document === undefined) {
    return { ok: false, issues: [...issues, { layer: 'syntax', severity: 'error', file, path: '(root)', message: 'the file is empty: write a schema (name, version, kind, ...)' }] };
  }
  return { ok: true, document, issues };
}
