import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { ExtractionInput, ExtractionProgress, ExtractionResult } from '../../shared/contract/extraction/messages';
import { formatSchemaIssues } from '../../shared/contract/extraction/validate';
import { InputValidationError } from '../../shared/contract/validation';
import { validateExtractionInput } from '../../shared/contract/extraction/messages';
import { withTenantApprovalPolicy } from '../approvers';
import {
  getExtractionProgress,
  getExtractionResult,
  openCliDatabase,
  planSet,
  readSchemaDir,
  renderNodeTable,
  renderPlan,
  finishedNodes,
  renderProgressDetail,
  renderProgressLine,
  setNameFor,
  startExtraction,
  validateFiles,
  writeArtifacts,
} from '../extraction';
import { ASCII_BAR, liveBar } from '../common/progress-bar';
import { assertRunOfTenant } from '../common/tenant-scope';
import { emit } from '../output';
import { admitExtraction, withAdmission } from '../tenancy';
import { loadConfig, loadTenancyConfig } from '../../shared/node/config';
import { withClient } from './context';
import { registerSchemaCommands } from './schema';

interface ExtractOptions {
  tenant?: string;
  set?: string;
  requestedBy?: string;
  plan?: boolean;
  watch?: boolean;
  strict?: boolean;
  maxParallel?: number;
  out?: string;
  approvers?: string;
  quorum?: number;
  approvalTimeout?: string;
  wait: boolean;
  json?: boolean;
}

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputValidationError('option', [{ path: name, message: `must be a whole number ≥ 1 (got "${value}")` }]);
  return n;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls the progress query until the run finishes: on a terminal, a live bar redrawn in place (cli-progress,
 * client/common/progress-bar.ts); on a pipe, a line per change.
 */
async function watch(fetch: () => Promise<ExtractionProgress>, write: (text: string) => void, tty: NodeJS.WriteStream | undefined): Promise<ExtractionProgress> {
  const started = Date.now();
  const live = tty ? liveBar(tty, ASCII_BAR, true) : undefined;
  let last = '';
  try {
    for (;;) {
      const progress = await fetch();
      if (live) {
        const { finished, total } = finishedNodes(progress);
        live.update(finished, total, renderProgressDetail(progress, Date.now() - started));
      } else {
        const line = renderProgressLine(progress, Date.now() - started);
        const shape = line.replace(/\s+\d+\.\ds\s/, ' ');
        if (shape !== last) write(`${line}\n`);
        last = shape;
      }
      if (progress.stage === 'finished') return progress;
      await sleep(live ? 200 : 500);
    }
  } finally {
    live?.stop();
  }
}

function summary(result: ExtractionResult): string {
  const lines = [
    `${result.workflowId}: ${result.outcome}${result.reason ? ` (${result.reason})` : ''}`,
    `  cache: ${result.cache.hits} hit(s), ${result.cache.misses} miss(es); ${result.extracted} agent(s) extracted`,
  ];
  for (const m of result.migrations) lines.push(`  migrated ${m.agent}: ${m.from} → ${m.to} (${m.id}${m.breaking ? ', breaking, approved' : ''})`);
  lines.push(renderNodeTable(result));
  return lines.join('\n');
}

export function registerExtractCommand(program: Command): void {
  program
    .command('extract')
    .description('extract a directory of agent schemas: validate, migrate, then generate every agent in dependency order, reusing cached work')
    .argument('<dir>', 'directory of .yaml/.yml/.json agent schemas (one agent per file)')
    .option('--tenant <id>', 'tenant the cache and records belong to (default: ADOS_TENANT, else default)')
    .option('--set <name>', 'name of the set in the workflow ID (default: the directory name)')
    .option('--requested-by <user>', 'who asks (default: your user name)')
    .option('--plan', 'print which agents will be reused from cache and which will run, and why; start nothing (needs DATABASE_URL)')
    .option('--watch', 'show a live progress bar until the run finishes')
    .option('--strict', 'refuse warnings too')
    .option('--max-parallel <n>', 'agents extracted at once (default 5)', positiveInt('--max-parallel'))
    .option('--out <dir>', 'write the generated files here when the run finishes (needs DATABASE_URL)')
    .option('--approvers <list>', 'who may approve a breaking (major-version) migration, comma-separated')
    .option('--quorum <n>', 'approvals needed (default 1)', positiveInt('--quorum'))
    .option('--approval-timeout <duration>', 'how long to wait for approval, e.g. 72h (default 72h)')
    .option('--no-wait', 'start and return (progress: ados extract <dir> --watch again attaches to the run)')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: ExtractOptions) => {
      const cfg = loadConfig();
      const read = readSchemaDir(dir);
      const syntaxErrors = read.syntaxIssues.filter((i) => i.severity === 'error' || opts.strict);
      if (syntaxErrors.length > 0) throw new InputValidationError(`schemas in ${dir}`, syntaxErrors.map((i) => ({ path: `${i.file}: ${i.path}`, message: `${i.severity} [syntax] ${i.message}` })));
      const input: ExtractionInput = {
        tenantId: opts.tenant ?? loadTenancyConfig().tenant ?? 'default',
        setName: opts.set ?? setNameFor(dir),
        requestedBy: opts.requestedBy ?? userInfo().username,
        documents: read.sources,
        strict: !!opts.strict,
        ...(opts.maxParallel ? { maxParallel: opts.maxParallel } : {}),
        ...(opts.approvers
          ? {
              approval: {
                approvers: opts.approvers.split(',').map((a) => a.trim()).filter(Boolean),
                ...(opts.quorum ? { quorum: opts.quorum } : {}),
                ...(opts.approvalTimeout ? { timeout: opts.approvalTimeout } : {}),
              },
            }
          : {}),
      };
      // Checked as startExtraction will start it: under the tenant's approval policy (which it applies again, to `input`).
      const checked = validateExtractionInput(await withTenantApprovalPolicy(cfg, input, 'migration'));
      if (!checked.ok) throw new InputValidationError('extraction', checked.issues);
      const warnings = [...read.syntaxIssues, ...checked.report.issues].filter((i) => i.severity === 'warning');
      if (warnings.length > 0 && !opts.json) process.stderr.write(`${formatSchemaIssues(warnings)}\n`);

      if (opts.plan) {
        const database = await openCliDatabase(cfg, '--plan');
        try {
          const plan = await planSet(database.db, input.tenantId, validateFiles(read, !!opts.strict));
          emit(!!opts.json, plan, () => renderPlan(plan, input.tenantId));
        } finally {
          await database.close();
        }
        return;
      }

      await withClient(async ({ client }) => {
        const started = await withAdmission(cfg, (admission) => startExtraction(client, cfg, input, admitExtraction(admission)), client);
        if (started.attached) await assertRunOfTenant(client, started.workflowId, input.tenantId);
        if (!opts.json) {
          process.stdout.write(
            `${started.attached ? 'following the run already in progress' : 'started'} ${started.workflowId}\n  Web UI:  ${started.webUrl}\n`,
          );
          if (checked.breaking.length > 0) {
            process.stdout.write(`  waits for approval of a breaking migration: ados approve ${started.workflowId} --tenant ${input.tenantId} --as <approver>\n`);
          }
        }
        if (!opts.wait && !opts.watch) {
          if (opts.json) emit(true, started, () => '');
          return;
        }
        if (opts.watch) {
          await watch(() => getExtractionProgress(client, started.workflowId), (t) => process.stderr.write(t), process.stderr.isTTY ? process.stderr : undefined);
        }
        const result = await getExtractionResult(client, started.workflowId);
        let written: string[] = [];
        if (opts.out) {
          const database = await openCliDatabase(cfg, '--out');
          try {
            written = await writeArtifacts(database.db, result, opts.out);
          } finally {
            await database.close();
          }
        }
        emit(!!opts.json, { ...result, written }, () => `${summary(result)}${opts.out ? `\n  wrote ${written.length} file(s) under ${opts.out}` : ''}`);
        if (result.outcome !== 'succeeded') throw new Error(`extraction ${result.outcome}${result.reason ? `: ${result.reason}` : ''}`);
      });
    });
}

/** `ados extract` and `ados schema validate|diff|drift`. */
export function registerExtractionCommands(program: Command): void {
  registerExtractCommand(program);
  registerSchemaCommands(program);
}
