/**
 * `ados/layers`: the import arrows of ../shared/DESIGN.md ("Layers"), checked on every relative import, re-export,
 * `import()` and `require()` of the tree. A path pattern cannot tell `../extraction/cache` in activities/ from the
 * same string in shared/node/, so the rule resolves each import against the importing file and classifies both ends.
 *
 *   shared/contract  ←  workflows
 *   shared/contract  ←  shared/node  ←  activities  ←  workers
 *   shared/contract  ←  shared/node  ←  client
 *
 * - Each production area may import only the areas listed in MAY_IMPORT (and itself); test/, bench/, deploy/ and
 *   lint/ may import anything, and no production area imports them.
 * - One kind never imports another kind's internals. A file belongs to a kind when the path below its area starts
 *   with the kind's name (`activities/extraction/…`, `client/delivery.ts`, `shared/node/extraction/…`). A kind's
 *   contract (`shared/contract/<kind>/`) is its public face: anyone may import it.
 * - `<area>/common/` (and activities/capabilities/, the capability handlers every kind's plans use) is shared by
 *   every kind, so it imports no kind's internals. An area's entry files (`workflows/index.ts`,
 *   `activities/index.ts`, …) may gather every kind.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The kinds of work (DESIGN.md); a new kind is added here. */
export const KINDS = ['delivery', 'extraction', 'tenancy', 'task-runtime', 'remediation', 'anomaly', 'learning'];

/**
 * Kinds whose Node library (shared/node/<kind>/) every kind and the common code may use: tenancy admits, scopes and
 * bills the runs of every kind, while its own workflow (the tenant gate) stays its internals like any kind's.
 */
export const CROSS_CUTTING_KINDS = ['tenancy'];

/** What each production area may import besides itself. */
const MAY_IMPORT = {
  'shared/contract': [],
  'shared/node': ['shared/contract'],
  workflows: ['shared/contract'],
  activities: ['shared/contract', 'shared/node'],
  workers: ['shared/contract', 'shared/node', 'activities', 'workflows'],
  client: ['shared/contract', 'shared/node'],
};

/** Imports erased at compile time that an area may make on top of MAY_IMPORT. */
const MAY_IMPORT_TYPES = {
  // Workflows call activities through proxyActivities, typed by the activities' own factories.
  workflows: ['activities', 'shared/node'],
  // The client may start a workflow by reference to its type.
  client: ['workflows'],
};

const WHY = {
  'shared/contract': 'shared/contract/ is bundle-safe and imports nothing of the tree but itself',
  'shared/node': 'shared/node/ is Node library code under the contract: it imports only shared/contract/',
  workflows: 'workflows/ are deterministic: they import shared/contract/ (and activities/ as types only)',
  activities: 'activities/ import shared/contract/ and shared/node/; workers/ host them and clients never see them',
  workers: 'workers/ import activities/, workflows/, shared/node/ and shared/contract/, never client/',
  client: 'client/ imports shared/contract/ and shared/node/ only (Node code it shares with activities lives in shared/node/; `ados worker` is dispatched by client/bin/ados.cjs)',
};

/** Area, kind and commonness of a path relative to the project root (posix separators). */
export function classify(relative) {
  const parts = relative.split('/');
  const twoLevel = parts[0] === 'shared' && (parts[1] === 'contract' || parts[1] === 'node');
  const area = twoLevel ? `shared/${parts[1]}` : parts[0];
  const below = parts.slice(twoLevel ? 2 : 1);
  const head = (below[0] ?? '').replace(/\.(ts|js|cjs|mjs)$/, '');
  return {
    area,
    production: area in MAY_IMPORT,
    kind: KINDS.includes(head) ? head : undefined,
    common: head === 'common' || (area === 'activities' && head === 'capabilities'),
  };
}

function isTypeOnly(node) {
  if (node.importKind === 'type' || node.exportKind === 'type') return true;
  const specifiers = node.specifiers ?? [];
  return (
    node.type === 'ImportDeclaration' &&
    specifiers.length > 0 &&
    specifiers.every((s) => s.type === 'ImportSpecifier' && s.importKind === 'type')
  );
}

/** The problem with importing `target` from `source` (both classified), or undefined. */
export function layerProblem(source, target, typeOnly) {
  if (!source.production) return undefined;
  if (target.area !== source.area) {
    const allowed = MAY_IMPORT[source.area].includes(target.area) || (typeOnly && (MAY_IMPORT_TYPES[source.area] ?? []).includes(target.area));
    if (!allowed) {
      const asTypes = (MAY_IMPORT_TYPES[source.area] ?? []).includes(target.area) ? ` (${target.area}/ as types only: \`import type\`)` : '';
      return `${source.area}/ may not import ${target.production ? `${target.area}/` : `${target.area} (tests, benchmarks and tooling sit above every layer)`}${asTypes}: ${WHY[source.area]}`;
    }
  }
  // A kind's contract is its public face; its other files are its internals.
  const publicPart = target.area === 'shared/contract' || (target.area === 'shared/node' && CROSS_CUTTING_KINDS.includes(target.kind));
  const internalKind = publicPart ? undefined : target.kind;
  if (source.kind && internalKind && source.kind !== internalKind) {
    return `${source.kind} code may not import ${internalKind}'s files: one kind never imports another (only its contract, shared/contract/${internalKind}/); move what both use to a common module (workflows/common/, activities/common/, client/common/, shared/node/ or shared/contract/)`;
  }
  if (source.common && internalKind) {
    return `code common to every kind may not import ${internalKind}'s files: keep the kind's part in the kind, or gather the kinds in the area's entry file (e.g. ${source.area}/index.ts)`;
  }
  return undefined;
}

/** @type {import('eslint').Rule.RuleModule} */
export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'enforce the import arrows between layers and kinds (../shared/DESIGN.md, "Layers")' },
    schema: [],
  },
  create(context) {
    const filename = context.filename ?? context.getFilename();
    const fromRoot = path.relative(ROOT, filename).split(path.sep).join('/');
    if (fromRoot.startsWith('..')) return {};
    const source = classify(fromRoot);
    if (!source.production) return {};

    const check = (node, specifier, typeOnly) => {
      if (typeof specifier !== 'string' || !specifier.startsWith('.')) return;
      const resolved = path.relative(ROOT, path.resolve(path.dirname(filename), specifier)).split(path.sep).join('/');
      if (resolved.startsWith('..')) return;
      const problem = layerProblem(source, classify(resolved), typeOnly);
      if (problem) context.report({ node, message: `"${specifier}": ${problem}` });
    };

    return {
      ImportDeclaration: (node) => check(node.source, node.source.value, isTypeOnly(node)),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value, isTypeOnly(node)),
      ExportAllDeclaration: (node) => check(node.source, node.source.value, isTypeOnly(node)),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value, false),
      TSImportType: (node) => {
        const literal = node.argument?.literal ?? node.argument;
        if (literal?.type === 'Literal') check(literal, literal.value, true);
      },
      CallExpression: (node) => {
        const callee = node.callee;
        const isRequire = callee.type === 'Identifier' && callee.name === 'require';
        const isResolve =
          callee.type === 'MemberExpression' && callee.object.type === 'Identifier' && callee.object.name === 'require' && callee.property.name === 'resolve';
        if ((isRequire || isResolve) && node.arguments[0]?.type === 'Literal') check(node.arguments[0], node.arguments[0].value, false);
      },
    };
  },
};

export default { rules: { layers: layersRule } };
