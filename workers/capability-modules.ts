/**
 * Plugin capabilities: the modules a capability worker loads (`ados worker --capability-module <path>`, config
 * ADOS_CAPABILITY_MODULES), each exporting definitions made with defineCapability from `ados/capability` (as the
 * default export, as named exports, or as an array). A module that cannot be loaded, exports no definition, or
 * declares a capability ADOS or another module already has, is refused with the flag (or variable) named.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BUILT_INS } from '../activities';
import { isCapabilityDefinition, type CapabilityDefinition } from '../activities/capabilities/define';
import { InputValidationError, type ValidationIssue } from '../shared/contract/validation';

/** A module to load, and where it was named (for the error). */
export interface CapabilityModuleRef {
  path: string;
  from: '--capability-module' | 'ADOS_CAPABILITY_MODULES';
}

/** A plugin definition, with the module it came from (recorded as its registration's source). */
export interface PluginCapability {
  definition: CapabilityDefinition<any, any>;
  source: string;
}

/** The definitions a module's exports hold, or why they are refused. */
export function definitionsOf(exported: unknown): { definitions: CapabilityDefinition[] } | { problem: string } {
  const fromArray = (list: unknown[], where: string) => {
    const stray = list.findIndex((item) => !isCapabilityDefinition(item));
    return stray >= 0 ? { problem: `${where}[${stray}] is not a capability definition (make each with defineCapability)` } : { definitions: list as CapabilityDefinition[] };
  };
  if (isCapabilityDefinition(exported)) return { definitions: [exported] };
  if (Array.isArray(exported)) return fromArray(exported, 'the exported array');
  const found = new Set<CapabilityDefinition>();
  if (typeof exported === 'object' && exported !== null) {
    for (const [key, value] of Object.entries(exported)) {
      if (isCapabilityDefinition(value)) found.add(value);
      else if (Array.isArray(value) && value.some(isCapabilityDefinition)) {
        const listed = fromArray(value, `export "${key}"`);
        if ('problem' in listed) return listed;
        for (const definition of listed.definitions) found.add(definition);
      }
    }
  }
  if (found.size === 0) {
    return {
      problem:
        "exports no capability definition: export one made with defineCapability from 'ados/capability' (default or named export, or an array of them)",
    };
  }
  return { definitions: [...found] };
}

/** Loads the modules (relative paths from the working directory) and checks their definitions against each other and the built-ins. */
export function loadCapabilityModules(refs: readonly CapabilityModuleRef[], cwd = process.cwd()): PluginCapability[] {
  const issues: ValidationIssue[] = [];
  const plugins: PluginCapability[] = [];
  const builtIn = new Set(BUILT_INS.map((d) => d.name));
  for (const ref of refs) {
    const file = path.resolve(cwd, ref.path);
    const refuse = (message: string) => issues.push({ path: ref.from, message: `${ref.path}: ${message}` });
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
      refuse(`no such file (${file}); give the path of a module that exports capability definitions`);
      continue;
    }
    let exported: unknown;
    try {
      // A path known only at run time; tsx (ados.cjs) compiles a TypeScript module as it loads.
      exported = require(file);
    } catch (error) {
      refuse(`cannot be loaded: ${(error as Error)?.message ?? String(error)}`);
      continue;
    }
    const found = definitionsOf(exported);
    if ('problem' in found) {
      refuse(found.problem);
      continue;
    }
    for (const definition of found.definitions) {
      if (builtIn.has(definition.name)) {
        refuse(`capability "${definition.name}" is built into ADOS; give yours another name (e.g. "team.${definition.name}")`);
      } else if (plugins.some((p) => p.definition.name === definition.name)) {
        const other = plugins.find((p) => p.definition.name === definition.name)!;
        refuse(`capability "${definition.name}" is also declared by ${other.source}; each capability comes from one module`);
      } else plugins.push({ definition, source: path.relative(cwd, file) || file });
    }
  }
  if (issues.length > 0) throw new InputValidationError('capability modules', issues);
  return plugins;
}
