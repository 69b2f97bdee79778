import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { validateHealthWatchInput } from '../../shared/contract/remediation/health-watch';
import { INCIDENT_KINDS } from '../../shared/contract/remediation/input';
import { InputValidationError, type ValidationIssue } from '../../shared/contract/validation';
import { assertRunOfTenant, scopedTenant, scopeToRun, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { emit } from '../output';
import { healthWatchWorkflowId } from '../../shared/contract/workflow-ids';
import { formatHealthWatch, formatRemediation, getHealthWatchStatus, getRemediationResult, getRemediationStatus, openIncident, startHealthWatch, stopHealthWatch } from '../remediation';
import { withClient } from './context';

interface OpenFlags {
  tenant?: string;
  service: string;
  env: string;
  kind: string;
  confidence: string;
  evidence: string[];
  signal: string[];
  action?: string;
  replicas?: string;
  approvers?: string;
  quorum?: string;
  requestedBy?: string;
  wait?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** The flags as incident fields; text that is not a number is refused here, naming the flag. */
function incidentFromFlags(flags: OpenFlags, tenantId: string): Record<string, unknown> {
  const issues: ValidationIssue[] = [];
  const number = (text: string | undefined, flag: string): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) issues.push({ path: flag, message: `must be a number (got "${text}")` });
    return value;
  };
  const signals = flags.signal.map((text) => {
    const [source, kind] = text.split(':');
    if (!source || !kind) issues.push({ path: '--signal', message: `"${text}": write <source>:<kind>, e.g. health-check:crash` });
    return { source, kind };
  });
  const incident = {
    tenantId,
    service: flags.service,
    environment: flags.env,
    kind: flags.kind,
    confidence: number(flags.confidence, '--confidence'),
    evidence: flags.evidence,
    signals,
    ...(flags.action ? { action: flags.action } : {}),
    ...(flags.replicas !== undefined ? { replicas: number(flags.replicas, '--replicas') } : {}),
    ...(flags.approvers ? { approval: { approvers: flags.approvers.split(',').map((a) => a.trim()), ...(flags.quorum ? { quorum: number(flags.quorum, '--quorum') } : {}) } } : {}),
    requestedBy: flags.requestedBy ?? userInfo().username,
    source: 'cli',
  };
  if (issues.length > 0) throw new InputValidationError('ados incident open flags', issues);
  return incident;
}

/** The incident's fields renamed to the flags that set them. */
const FLAG_OF: Record<string, string> = { service: '--service', environment: '--env', kind: '--kind', confidence: '--confidence', action: '--action', replicas: '--replicas', approval: '--approvers' };

export function registerIncidentCommands(program: Command): void {
  const incident = program.command('incident').description('open an incident: a remediationRun proposes an action, the governance gates judge it, it runs');

  incident
    .command('open')
    .description('open an incident on a service deployed by deploy.process and start its remediation')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .requiredOption('--service <name>', 'the service, as deploy.process deployed it')
    .requiredOption('--env <environment>', 'dev, stage or prod')
    .requiredOption('--kind <kind>', `what happened: ${INCIDENT_KINDS.join(', ')}`)
    .requiredOption('--confidence <0..1>', 'how sure the report is (below 0.5 the action becomes a noop)')
    .option('--evidence <text>', 'what was seen (repeatable)', collect, [])
    .option('--signal <source:kind>', 'a signal behind the incident, e.g. health-check:crash (repeatable; signals that disagree mean observe only)', collect, [])
    .option('--action <action>', 'propose another action than the kind\'s (the gates judge it the same way)')
    .option('--replicas <n>', 'scale_up / scale_down: the number of processes to run')
    .option('--approvers <a,b>', 'who approves an action in prod (required there)')
    .option('--quorum <n>', 'approvals needed (default 1)')
    .option('--requested-by <user>', 'who opens it (default: your user name)')
    .option('--wait', 'wait for the remediation to finish and print its result')
    .option('--json', 'print JSON')
    .action(async (flags: OpenFlags) => {
      const tenantId = scopedTenant(flags.tenant);
      const fields = incidentFromFlags(flags, tenantId);
      await withClient(async ({ client, config }) => {
        const started = await openIncident(client, config, fields).catch((error: unknown) => {
          if (error instanceof InputValidationError) throw new InputValidationError('incident', error.issues.map((i) => ({ ...i, path: FLAG_OF[i.path.split(/[.[]/)[0]] ?? i.path })));
          throw error;
        });
        if (!flags.wait) {
          emit(!!flags.json, started, () => `opened ${started.workflowId}\n${started.webUrl}`);
          return;
        }
        const result = await getRemediationResult(client, started.workflowId);
        emit(!!flags.json, result, () => formatRemediation(result));
      });
    });

  incident
    .command('show <workflowId>')
    .description('where a remediation is (its stage and blocks), or how it ended')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (workflowId: string, flags: { tenant?: string; json?: boolean }) => {
      const tenantId = scopeToRun(workflowId, flags.tenant);
      await withClient(async ({ client }) => {
        await assertRunOfTenant(client, workflowId, tenantId);
        const status = await getRemediationStatus(client, workflowId);
        if (status.stage !== 'finished') {
          emit(!!flags.json, status, () => `${workflowId}  stage: ${status.stage}  proposed: ${status.proposed}${status.waitingFor ? `\nwaiting for: ${status.waitingFor}` : ''}`);
          return;
        }
        const result = await getRemediationResult(client, workflowId);
        emit(!!flags.json, result, () => formatRemediation(result));
      });
    });

  incident
    .command('watch')
    .description('watch a service\'s health check: after failed checks in a row, open an incident (source health-check) and remediate')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .requiredOption('--service <name>', 'the service, as deploy.process deployed it')
    .requiredOption('--env <environment>', 'dev, stage or prod')
    .option('--interval <duration>', 'time between checks, e.g. 15s (default 15s)')
    .option('--failures <n>', 'failed checks in a row that open an incident (default 3)')
    .option('--approvers <a,b>', 'who approves a remediation in prod (required there)')
    .option('--requested-by <user>', 'who starts the watch (default: your user name)')
    .option('--json', 'print JSON')
    .action(async (flags: { tenant?: string; service: string; env: string; interval?: string; failures?: string; approvers?: string; requestedBy?: string; json?: boolean }) => {
      const tenantId = scopedTenant(flags.tenant);
      const failures = flags.failures === undefined ? undefined : Number(flags.failures);
      if (flags.failures !== undefined && (flags.failures.trim() === '' || !Number.isFinite(failures))) {
        throw new InputValidationError('ados incident watch flags', [{ path: '--failures', message: `must be a whole number from 1 to 20 (got "${flags.failures}")` }]);
      }
      const fields = {
        tenantId,
        service: flags.service,
        environment: flags.env,
        ...(flags.interval ? { interval: flags.interval } : {}),
        ...(failures !== undefined ? { failuresToOpen: failures } : {}),
        ...(flags.approvers ? { approval: { approvers: flags.approvers.split(',').map((a) => a.trim()) } } : {}),
        requestedBy: flags.requestedBy ?? userInfo().username,
      };
      // Refused before connecting, naming the flag.
      const checked = validateHealthWatchInput(fields);
      if (!checked.ok) {
        const flagOf: Record<string, string> = { ...FLAG_OF, interval: '--interval', failuresToOpen: '--failures' };
        throw new InputValidationError('health watch', checked.issues.map((i) => ({ ...i, path: flagOf[i.path.split(/[.[]/)[0]] ?? i.path })));
      }
      await withClient(async ({ client, config }) => {
        const started = await startHealthWatch(client, config, checked.value);
        emit(!!flags.json, started, () => `${started.alreadyWatching ? 'already watching' : 'watching'}: ${started.workflowId}\n${started.webUrl}`);
      });
    });

  incident
    .command('watch-status')
    .description('a health watch\'s checks, failures in a row and the incidents it opened')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .requiredOption('--service <name>', 'the watched service')
    .requiredOption('--env <environment>', 'dev, stage or prod')
    .option('--json', 'print JSON')
    .action(async (flags: { tenant?: string; service: string; env: string; json?: boolean }) => {
      const workflowId = healthWatchWorkflowId(scopedTenant(flags.tenant), flags.service, flags.env);
      await withClient(async ({ client }) => {
        const status = await getHealthWatchStatus(client, workflowId);
        emit(!!flags.json, status, () => formatHealthWatch(status));
      });
    });

  incident
    .command('unwatch')
    .description('stop a health watch (a check or remediation in progress finishes first)')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .requiredOption('--service <name>', 'the watched service')
    .requiredOption('--env <environment>', 'dev, stage or prod')
    .option('--reason <text>', 'why, for the audit log')
    .option('--json', 'print JSON')
    .action(async (flags: { tenant?: string; service: string; env: string; reason?: string; json?: boolean }) => {
      const workflowId = healthWatchWorkflowId(scopedTenant(flags.tenant), flags.service, flags.env);
      await withClient(async ({ client }) => {
        await stopHealthWatch(client, workflowId, userInfo().username, flags.reason);
        emit(!!flags.json, { workflowId, stopRequested: true }, () => `asked ${workflowId} to stop`);
      });
    });
}
