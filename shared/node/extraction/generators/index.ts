import type { ArtifactKind } from '../../../contract/extraction/messages';
import type { AgentSchema } from '../../../contract/extraction/schema';
import { createContext } from './context';
import { generateManifest, MANIFEST_FILE } from './manifest';
import { generateReadme } from './readme';
import { generateModule } from './typescript-module';
import { generateModuleTest } from './typescript-test';
import { GENERATOR_VERSIONS, type GeneratorVersions } from './version';

export interface GeneratedArtifact {
  /** `<agent-slug>/<file>`. */
  path: string;
  kind: ArtifactKind;
  content: string;
}

/**
 * Every artifact of one agent, in path order. Pure and deterministic: the same schema, schema hash,
 * dependency hashes and versions give byte-identical text (no clock, no randomness, canonical key order).
 */
export function generateArtifacts(
  agent: AgentSchema,
  schemaSha256: string,
  dependencies: Record<string, string>,
  versions: GeneratorVersions = GENERATOR_VERSIONS,
): GeneratedArtifact[] {
  const ctx = createContext(agent, schemaSha256, dependencies, versions);
  const artifacts: GeneratedArtifact[] = [
    { path: `${ctx.slug}/index.ts`, kind: 'module', content: generateModule(ctx) },
    { path: `${ctx.slug}/index.test.ts`, kind: 'test', content: generateModuleTest(ctx) },
    { path: `${ctx.slug}/${MANIFEST_FILE}`, kind: 'manifest', content: generateManifest(ctx) },
    { path: `${ctx.slug}/README.md`, kind: 'readme', content: generateReadme(ctx) },
  ];
  return artifacts.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export { EXTRACTOR_VERSION, GLUE_VERSION, GENERATOR_VERSIONS, type GeneratorVersions } from './version';
export { manifestSection, MANIFEST_FILE, MANIFEST_SECTIONS } from './manifest';
