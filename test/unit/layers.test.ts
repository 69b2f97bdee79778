/**
 * The layering lint (lint/layers.mjs, run by `npm run lint` over the whole tree): files with one violation each are
 * planted in the tree, ESLint runs on them as `npm run lint` does, and each must fail with its arrow named; legal
 * imports planted beside them must pass. ESLint loads its flat config as an ES module, which jest's module system
 * cannot, so it runs in a child process.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const ESLINT = join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js');

interface Plant {
  name: string;
  /** Where the file is planted, relative to the project root (the name is made unique per test run). */
  dir: string;
  code: string;
  /** A fragment of the one error expected; undefined: the file must lint clean. */
  error?: string;
}

const PLANTS: Plant[] = [
  { name: 'workers → client', dir: 'workers', code: "import { runCli } from '../client/cli';\n", error: 'workers/ may not import client/' },
  { name: 'client → activities', dir: 'client', code: "import { createActivities } from '../activities';\n", error: 'client/ may not import activities/' },
  { name: 'client → workers', dir: 'client/commands', code: "import { runWorker } from '../../workers/main';\n", error: 'client/ may not import workers/' },
  {
    name: 'activities → client',
    dir: 'activities/common',
    code: "import { listPending } from '../../client/common/pending';\n",
    error: 'activities/ may not import client/',
  },
  { name: 'shared/node → activities', dir: 'shared/node', code: "import { toJson } from '../../activities/common/run-records';\n", error: 'shared/node/ may not import activities/' },
  {
    name: 'production code → test helpers',
    dir: 'workers',
    code: "import { cleanEnv } from '../test/helpers/processes';\n",
    error: 'workers/ may not import test (tests, benchmarks and tooling sit above every layer)',
  },
  {
    name: 'one kind → another kind (activities)',
    dir: 'activities/delivery',
    code: "import { extract } from '../extraction/capability';\n",
    error: "delivery code may not import extraction's files",
  },
  {
    name: 'client/common → a kind',
    dir: 'client/common',
    code: "import { RunAlreadyExistsError } from '../delivery';\n",
    error: "code common to every kind may not import delivery's files",
  },
  {
    name: 'a workflow → another kind\'s activities, even as types',
    dir: 'workflows/extraction',
    code: "import type { DeliveryControlActivities } from '../../activities/delivery/control-activities';\n",
    error: "extraction code may not import delivery's files",
  },
  {
    name: 'common code → a kind',
    dir: 'activities/common',
    code: "import { createExtractionWorkerActivities } from '../extraction/extract';\n",
    error: "code common to every kind may not import extraction's files",
  },
  {
    name: 'a workflow → activities as values',
    dir: 'workflows/delivery',
    code: "import { createDeliveryControlActivities } from '../../activities/delivery/control-activities';\n",
    error: 'workflows/ may not import activities/ (activities/ as types only: `import type`)',
  },
  { name: 'a workflow → a Node builtin', dir: 'workflows', code: "import { readFileSync } from 'node:fs';\n", error: 'workflows/ and shared/contract/ are deterministic' },
  {
    name: 'legal: client → shared/node, shared/contract, client/common, workflow types',
    dir: 'client',
    code: [
      "import { loadConfig } from '../shared/node/config';",
      "import { KNOWN_CAPABILITIES } from '../shared/contract/capabilities';",
      "import { listPending } from './common/pending';",
      "import type { deliveryRun } from '../workflows/delivery/delivery-run';",
      '',
    ].join('\n'),
  },
  {
    name: 'legal: a workflow → its own kind\'s and common activities as types, any kind\'s contract',
    dir: 'workflows/delivery',
    code: [
      "import type { DeliveryControlActivities } from '../../activities/delivery/control-activities';",
      "import type { AuditActivities } from '../../activities/common/audit-activities';",
      "import type { ExtractionInput } from '../../shared/contract/extraction/messages';",
      '',
    ].join('\n'),
  },
  {
    name: 'legal: workers → activities, workflows; a kind → common; an entry file gathering kinds',
    dir: 'activities',
    code: [
      "import { appendAudit } from './common/run-records';",
      "import { createExtractionControlActivities } from './extraction/control-activities';",
      "import { createDeliveryControlActivities } from './delivery/control-activities';",
      '',
    ].join('\n'),
  },
];

interface LintMessage {
  ruleId: string | null;
  message: string;
  severity: number;
}

function lint(files: string[]): Promise<Array<{ filePath: string; messages: LintMessage[] }>> {
  return new Promise((done, fail) => {
    execFile(process.execPath, [ESLINT, '--format', 'json', ...files], { cwd: ROOT, maxBuffer: 10_000_000, timeout: 110_000 }, (error, stdout, stderr) => {
      // Exit 1 means "problems found", which is what most of the planted files are for.
      if (error && (error as { code?: unknown }).code !== 1) fail(new Error(`eslint failed: ${error.message}\n${stderr}`));
      else done(JSON.parse(stdout));
    });
  });
}

describe('the layering lint', () => {
  const planted = PLANTS.map((plant, index) => ({ ...plant, file: join(ROOT, plant.dir, `__planted_layers_${process.pid}_${index}__.ts`) }));
  let messages: Map<string, LintMessage[]>;

  beforeAll(async () => {
    try {
      for (const plant of planted) writeFileSync(plant.file, plant.code);
      const results = await lint(planted.map((plant) => relative(ROOT, plant.file)));
      messages = new Map(results.map((result) => [result.filePath, result.messages]));
    } finally {
      for (const plant of planted) rmSync(plant.file, { force: true });
    }
  });

  it.each(planted.filter((plant) => plant.error).map((plant) => [plant.name, plant] as const))('refuses %s', (_, plant) => {
    const found = messages.get(plant.file) ?? [];
    expect(found.map((m) => m.message)).toEqual([expect.stringContaining(plant.error!)]);
    expect(found[0].severity).toBe(2);
  });

  it.each(planted.filter((plant) => !plant.error).map((plant) => [plant.name, plant] as const))('allows %s', (_, plant) => {
    expect(messages.get(plant.file)).toEqual([]);
  });
});
