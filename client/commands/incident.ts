import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { INCIDENT_KINDS } from '../../shared/contract/remediation/input';
import { InputValidationError, type ValidationIssue } from '../../shared/contract/validation';
import { assertRunOfTenant, scopedTenant, scopeToRun, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { emit } from '../output';
import { formatRemediation, getRemediationResult, getRemediationStatus, openIncident } from '../remediation';
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
}
