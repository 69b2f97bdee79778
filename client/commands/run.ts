import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { resolveCommand } from '../../shared/contract/delivery/escalation';
import type { DeliveryResult, DeliveryStatus } from '../../shared/contract/delivery/status';
import { getDeliveryResult, getDeliveryStatus, startDeliveryRun } from '../delivery';
import { withTenantApprovalPolicy } from '../approvers';
import { assertRunOfTenant, scopeToRun, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { admitDeliveryRun, withAdmission } from '../tenancy';
import { loadBackpressureConfig, loadConfig, loadTenancyConfig } from '../../shared/node/config';
import { prepareDeliveryRun, readRegistrations } from '../capabilities';
import { TenantRefusedError } from '../../shared/node/tenancy/admission';
import { emit } from '../output';
import { readInputFile } from '../plan-file';
import { explainRun, formatWhy } from '../run-why';
import { withClient } from './context';

function freshRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

export function formatStatus(status: DeliveryStatus): string {
  const lines = [`${status.workflowId}  stage: ${status.stage}${status.outcome ? `  outcome: ${status.outcome}` : ''}`];
  if (status.waitingFor) lines.push(`waiting for: ${status.waitingFor}`);
  for (const env of status.environments) {
    const tasks = status.tasks[env];
    if (!tasks) continue;
    lines.push(`${env}:`);
    for (const [id, task] of Object.entries(tasks)) {
      lines.push(
        `  ${id.padEnd(16)} ${task.capability.padEnd(10)} ${task.state}${task.variant ? ` via ${task.variant}` : ''}${task.rung ? ` [rung: ${task.rung}]` : ''}` +
          `${task.worker ? ` on ${task.worker}` : ''}${task.error ? `  (${task.error})` : ''}${task.notice ? `\n  ${''.padEnd(16)} ! ${task.notice}` : ''}`,
      );
    }
  }
  if (status.strategy && status.strategy.name !== 'as-planned') lines.push(`strategy: ${status.strategy.name} (maxParallel ${status.strategy.maxParallel})`);
  for (const escalation of status.escalations ?? []) {
    lines.push(`escalated to a human: task ${escalation.taskId} in ${escalation.environment} since ${escalation.since}`);
    for (const step of escalation.steps) lines.push(`  ${step.rung} ${step.step}${step.variant ? ` (${step.variant})` : ''}: ${step.reason}`);
    lines.push(`  resolve: ${resolveCommand(status.workflowId, escalation.taskId)}`);
  }
  const gate = status.approval;
  if (gate) {
    lines.push(`approval: ${gate.approvedBy.length}/${gate.policy.quorum} by ${gate.policy.approvers.join(', ')}${gate.outcome ? ` → ${gate.outcome}` : ''}`);
    for (const d of gate.decisions) {
      lines.push(`  ${d.decision} by ${d.approver} via ${d.via}: ${d.counted ? 'counted' : `ignored (${d.reason})`}`);
    }
  }
  return lines.join('\n');
}

export function formatResult(result: DeliveryResult): string {
  const skipped = (result.skippedTasks ?? []).map((t) => `\n  skipped by ${t.by}: ${t.taskId} in ${t.environment}${t.comment ? ` (${t.comment})` : ''}`).join('');
  return `${result.workflowId}: ${result.outcome}${result.reason ? ` (${result.reason})` : ''}${skipped}`;
}

export function registerRunCommands(program: Command): void {
  const run = program.command('run').description('start and inspect delivery runs');

  run
    .command('start')
    .description('validate a delivery plan file (YAML or JSON) and start the run')
    .requiredOption('-f, --file <path>', 'plan file: tenantId, requestedBy, goal, plan.tasks, environments, approval')
    .option('--tenant <id>', 'override tenantId (default: the file\'s; with ADOS_TENANT set, the file must name that tenant)')
    .option('--run-id <id>', 'override runId (default: the file\'s, else a fresh timestamped one)')
    .option('--requested-by <user>', 'override requestedBy (default: the file\'s, else your user name)')
    .option('--wait', 'wait for the run to finish and print its result')
    .option('--json', 'print JSON')
    .action(async (opts: { file: string; tenant?: string; runId?: string; requestedBy?: string; wait?: boolean; json?: boolean }) => {
      const raw = readInputFile(opts.file) as Record<string, unknown>;
      const scope = loadTenancyConfig().tenant;
      const input = {
        ...raw,
        tenantId: opts.tenant ?? raw?.tenantId ?? scope,
        runId: opts.runId ?? raw?.runId ?? freshRunId(),
        requestedBy: opts.requestedBy ?? raw?.requestedBy ?? userInfo().username,
      };
      // Refuse a bad plan before connecting to Temporal, so that it is reported (exit 2) even with no server.
      const prepared = prepareDeliveryRun(await withTenantApprovalPolicy(loadConfig(), input), await readRegistrations(loadConfig()));
      if (!opts.tenant && scope && prepared.tenantId !== scope) {
        throw new TenantRefusedError(`${opts.file} is a plan of tenant ${prepared.tenantId}, but ADOS_TENANT scopes this shell to ${scope}; refused (--tenant names the tenant explicitly)`);
      }
      await withClient(async ({ client, config }) => {
        const started = await withAdmission(config, (admission) => startDeliveryRun(client, config, input, admitDeliveryRun(admission)), client);
        emit(!!opts.json && !opts.wait, started, () =>
          [`started ${started.workflowId}`, `  Web UI:  ${started.webUrl}`, `  status:  ados run status ${started.workflowId} --tenant ${prepared.tenantId}`].join('\n'),
        );
        if (opts.wait) {
          const result = await getDeliveryResult(client, started.workflowId);
          emit(!!opts.json, result, () => `finished ${formatResult(result)}`);
        }
      });
    });

  run
    .command('status')
    .description('show a run\'s stage, per-task state, approvals and what it waits for')
    .argument('<workflowId>', 'e.g. delivery-acme-20261122-ab12')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (workflowId: string, opts: { tenant?: string; json?: boolean }) => {
      const tenant = scopeToRun(workflowId, opts.tenant);
      await withClient(async ({ client }) => {
        await assertRunOfTenant(client, workflowId, tenant);
        const status = await getDeliveryStatus(client, workflowId);
        emit(!!opts.json, status, () => formatStatus(status));
      });
    });

  run
    .command('why')
    .description('say why a run waits: approval, its tenant gate, queues with no worker, backpressure (one line each)')
    .argument('<workflowId>', 'e.g. delivery-acme-20261122-ab12')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (workflowId: string, opts: { tenant?: string; json?: boolean }) => {
      const tenant = scopeToRun(workflowId, opts.tenant);
      const thresholds = loadBackpressureConfig();
      await withClient(async ({ client, config }) => {
        await assertRunOfTenant(client, workflowId, tenant);
        const why = await explainRun(client, config, workflowId, { thresholds });
        emit(!!opts.json, why, () => formatWhy(why));
      });
    });

  run
    .command('result')
    .description('wait for a run to finish and print its result')
    .argument('<workflowId>')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (workflowId: string, opts: { tenant?: string; json?: boolean }) => {
      const tenant = scopeToRun(workflowId, opts.tenant);
      await withClient(async ({ client }) => {
        await assertRunOfTenant(client, workflowId, tenant);
        const result = await getDeliveryResult(client, workflowId);
        emit(!!opts.json, result, () => formatResult(result));
      });
    });
}
