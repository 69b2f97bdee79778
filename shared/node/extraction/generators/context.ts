import { canonicalJson } from '../../../contract/canonical';
import { agentSlug, retentionToDays, type AgentSchema } from '../../../contract/extraction/schema';
import type { GeneratorVersions } from './version';

/** Everything a template may use. Built once per agent from canonical data, so key order in the input never shows. */
export interface GeneratorContext extends GeneratorVersions {
  agent: AgentSchema;
  slug: string;
  /** PascalCase identifier: "PlastOS Adapter" → "PlastosAdapter". */
  typeName: string;
  schemaSha256: string;
  /** Output hash of each dependency, by name, sorted by name. */
  dependencies: Array<{ name: string; slug: string; outputSha256: string }>;
}

export function pascalCase(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const joined = words.map((w) => w[0].toUpperCase() + w.slice(1).toLowerCase()).join('');
  return /^[0-9]/.test(joined) ? `Agent${joined}` : joined || 'Agent';
}

export function createContext(agent: AgentSchema, schemaSha256: string, dependencies: Record<string, string>, versions: GeneratorVersions): GeneratorContext {
  const canonical = JSON.parse(canonicalJson(agent)) as AgentSchema;
  return {
    ...versions,
    agent: canonical,
    slug: agentSlug(canonical.name),
    typeName: pascalCase(canonical.name),
    schemaSha256,
    dependencies: Object.keys(dependencies)
      .sort()
      .map((name) => ({ name, slug: agentSlug(name), outputSha256: dependencies[name] })),
  };
}

export const retentionMs = (text: string): number => retentionToDays(text) * 86_400_000;

/** A TypeScript/JSON string literal. */
export const str = (value: string): string => JSON.stringify(value);

/** Indents every line but the first by `spaces`. */
export const indent = (text: string, spaces: number): string => text.split('\n').join(`\n${' '.repeat(spaces)}`);
