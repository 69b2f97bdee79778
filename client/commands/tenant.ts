import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { formatAmount } from '../../shared/contract/tenancy/budget';
import { POLICY_NAMES, tenantIdSchema, type TenantProfile, type TenantProfilePatch } from '../../shared/contract/tenancy/profile';
import { InputValidationError, type ValidationIssue } from '../../shared/contract/validation';
import { loadConfig } from '../../shared/node/config';
import { setMetaOptIn } from '../../shared/node/learning/strategy/meta-store';
import { createTenant, deactivateTenant, forkPolicy, listTenants, updateTenant, type TenantRecord } from '../../shared/node/tenancy/store';
import { openCliDatabase } from '../common/database';
import { emit } from '../output';
import { readInputFile } from '../plan-file';
import { cancelTenantRuns, refreshTenantGate, tenantReport, type TenantReport } from '../tenancy';
import { withClient } from './context';

/** The profile flags of `create` and `update`, as commander hands them over (text). */
interface ProfileFlags {
  name?: string;
  budgetPerDay?: string;
  budgetPerMonth?: string;
  budgetUnit?: string;
  maxConcurrentRuns?: string;
  maxTasksPerAgent?: string;
  priority?: string;
  fairnessWeight?: string;
  runStartsPerMinute?: string;
  runStartBurst?: string;
  taskStartsPerMinute?: string;
  taskStartBurst?: string;
  plannerPolicy?: string;
  toolPolicy?: string;
  agentPolicy?: string;
  generationPolicy?: string;
  metaLearning?: string;
  notifyUrl?: string;
  active?: string;
  json?: boolean;
}

/** Each profile field's flag, so that an error names the flag to fix. */
const FLAG_OF: Record<string, string> = {
  displayName: '--name',
  active: '--active',
  'budget.perDay': '--budget-per-day',
  'budget.perMonth': '--budget-per-month',
  'budget.unit': '--budget-unit',
  'limits.maxConcurrentRuns': '--max-concurrent-runs',
  'limits.maxConcurrentTasksPerAgent': '--max-tasks-per-agent',
  'limits.priority': '--priority',
  'limits.fairnessWeight': '--fairness-weight',
  'limits.runStartsPerMinute': '--run-starts-per-minute',
  'limits.runStartBurst': '--run-start-burst',
  'limits.agentTaskStartsPerMinute': '--task-starts-per-minute',
  'limits.agentTaskStartBurst': '--task-start-burst',
  'policies.planner': '--planner-policy',
  'policies.tool': '--tool-policy',
  'policies.agent': '--agent-policy',
  'policies.generation': '--generation-policy',
  metaLearning: '--meta-learning',
  'notifications.webhookUrl': '--notify-url',
};

/**
 * The profile change the flags ask for. Text that is not a number, on/off or JSON is refused here; the values are
 * then checked by the profile schema, whose issues are renamed to the flags.
 */
function patchFromFlags(flags: ProfileFlags): TenantProfilePatch {
  const issues: ValidationIssue[] = [];
  const number = (text: string | undefined, path: string, allowNone = false): number | null | undefined => {
    if (text === undefined) return undefined;
    if (allowNone && text === 'none') return null;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) issues.push({ path, message: `must be a number${allowNone ? ', or none for no limit' : ''} (got "${text}")` });
    return value;
  };
  const onOff = (text: string | undefined, path: string): boolean | undefined => {
    if (text === undefined) return undefined;
    if (text === 'on' || text === 'true') return true;
    if (text === 'off' || text === 'false') return false;
    issues.push({ path, message: `must be on or off (got "${text}")` });
    return undefined;
  };
  const policy = (text: string | undefined, path: string): Record<string, unknown> | undefined => {
    if (text === undefined) return undefined;
    try {
      return (text.startsWith('@') ? readInputFile(text.slice(1)) : JSON.parse(text)) as Record<string, unknown>;
    } catch (error) {
      const detail = error instanceof InputValidationError ? error.issues.map((i) => i.message).join('; ') : (error as Error).message;
      issues.push({ path, message: `must be a JSON object, or @file of one (YAML or JSON): ${detail}` });
      return undefined;
    }
  };
  const patch = {
    displayName: flags.name,
    active: onOff(flags.active, 'active'),
    budget: { perDay: number(flags.budgetPerDay, 'budget.perDay', true), perMonth: number(flags.budgetPerMonth, 'budget.perMonth', true), unit: flags.budgetUnit },
    limits: {
      maxConcurrentRuns: number(flags.maxConcurrentRuns, 'limits.maxConcurrentRuns'),
      maxConcurrentTasksPerAgent: number(flags.maxTasksPerAgent, 'limits.maxConcurrentTasksPerAgent'),
      priority: number(flags.priority, 'limits.priority'),
      fairnessWeight: number(flags.fairnessWeight, 'limits.fairnessWeight'),
      runStartsPerMinute: number(flags.runStartsPerMinute, 'limits.runStartsPerMinute'),
      runStartBurst: number(flags.runStartBurst, 'limits.runStartBurst'),
      agentTaskStartsPerMinute: number(flags.taskStartsPerMinute, 'limits.agentTaskStartsPerMinute'),
      agentTaskStartBurst: number(flags.taskStartBurst, 'limits.agentTaskStartBurst'),
    },
    policies: Object.fromEntries(POLICY_NAMES.map((name) => [name, policy(flags[`${name}Policy`], `policies.${name}`)])),
    metaLearning: onOff(flags.metaLearning, 'metaLearning'),
    // The URL itself is checked by the profile schema (WEBHOOK_URL_RULE), its issue renamed to --notify-url.
    notifications: { webhookUrl: flags.notifyUrl === 'none' ? null : flags.notifyUrl },
  };
  if (issues.length > 0) throw flagError(issues);
  return patch as TenantProfilePatch;
}

function flagError(issues: readonly ValidationIssue[]): InputValidationError {
  return new InputValidationError('ados tenant flags', issues.map((issue) => ({ ...issue, path: FLAG_OF[issue.path] ?? issue.path })));
}

/** The store's validation errors, with the fields renamed to the flags that set them. */
async function withFlagNames<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof InputValidationError && error.what === 'tenant profile') throw flagError(error.issues);
    throw error;
  }
}

function tenantId(text: string, what = '<tenant>'): string {
  const parsed = tenantIdSchema.safeParse(text);
  if (!parsed.success) throw new InputValidationError('tenant id', [{ path: what, message: `${parsed.error.issues[0].message} (got "${text}")` }]);
  return parsed.data;
}

async function withDatabase<T>(fn: (db: Awaited<ReturnType<typeof openCliDatabase>>['db']) => Promise<T>): Promise<T> {
  const database = await openCliDatabase(loadConfig(), 'ados tenant');
  try {
    return await fn(database.db);
  } finally {
    await database.close();
  }
}

const limitText = (limit: number | null, unit: string) => (limit === null ? 'no limit' : formatAmount(limit, unit));

export function formatProfile(id: string, profile: TenantProfile): string[] {
  const { budget, limits, policies } = profile;
  return [
    `tenant ${id}${profile.displayName ? ` (${profile.displayName})` : ''}: ${profile.active ? 'active' : 'DEACTIVATED (new runs are refused)'}`,
    `  budget:   ${limitText(budget.perDay, budget.unit)} per day, ${limitText(budget.perMonth, budget.unit)} per month`,
    `  limits:   ${limits.maxConcurrentRuns} concurrent runs, ${limits.maxConcurrentTasksPerAgent} concurrent tasks per agent, priority ${limits.priority}, fairness weight ${limits.fairnessWeight}`,
    `  rates:    ${limits.runStartsPerMinute} run starts/min (burst ${limits.runStartBurst}), ${limits.agentTaskStartsPerMinute} task starts/min per agent (burst ${limits.agentTaskStartBurst})`,
    `  policies: ${POLICY_NAMES.map((name) => `${name} ${JSON.stringify(policies[name])}`).join(', ')}`,
    `  meta-learning: ${profile.metaLearning ? 'on' : 'off'}`,
    `  notifications: ${profile.notifications.webhookUrl === null ? 'log only (no webhook; set one with --notify-url)' : `webhook ${profile.notifications.webhookUrl} (known anomalies are POSTed there, and logged)`}`,
  ];
}

export function formatReport(report: TenantReport): string {
  const { unit } = report.tenant.profile.budget;
  const lines = formatProfile(report.tenant.id, report.tenant.profile);
  for (const s of report.standing) {
    const label = s.window === 'day' ? 'spend today:     ' : 'spend this month:';
    const against = s.limit === null ? '(no limit)' : `of ${formatAmount(s.limit, unit)} (${Math.floor(s.ratio * 100)}%)${s.level === 'spent' ? '  SPENT: new runs are refused' : s.level === 'alert' ? '  ALERT: at 80% or more' : ''}`;
    lines.push(`  ${label} ${formatAmount(s.spent, unit)} ${against}`);
  }
  for (const [other, spend] of Object.entries(report.otherUnits)) lines.push(`  also reported in ${other} (not budgeted): ${spend.day} today, ${spend.month} this month`);
  lines.push(`  runs in flight: ${report.runsInFlight}`);
  for (const run of report.costliestRuns) lines.push(`  cost this month: ${run.workflowId}  ${formatAmount(run.amount, run.unit)} over ${run.tasks} task(s)`);
  lines.push(report.alerts.length === 0 ? '  alerts: none' : '  alerts:');
  for (const alert of report.alerts) lines.push(`    ${alert.message}`);
  for (const audited of report.auditedAlerts) lines.push(`  audited ${audited.at.toISOString()}: ${(audited.detail as { message?: string }).message ?? audited.key}`);
  for (const change of report.changes) lines.push(`  ${change.event} ${change.at.toISOString()} by ${(change.detail as { by?: string }).by ?? '?'}`);
  return lines.join('\n');
}

/** The flags that set a profile, shared by `create` and `update`. */
function profileOptions(command: Command): Command {
  return command
    .option('--name <text>', 'display name')
    .option('--budget-per-day <amount>', 'budget per UTC day, in --budget-unit, or none (default none)')
    .option('--budget-per-month <amount>', 'budget per UTC month, or none (default none)')
    .option('--budget-unit <unit>', 'the cost unit budgets count (default usd); costs reported in other units are shown, not counted')
    .option('--max-concurrent-runs <n>', 'runs at once (default 5)')
    .option('--max-tasks-per-agent <n>', 'concurrent tasks per agent (default 2)')
    .option('--priority <1-10>', 'priority, 1 lowest (default 5)')
    .option('--fairness-weight <w>', 'fairness weight, > 0 (default 1)')
    .option('--run-starts-per-minute <n>', 'run starts per minute, sustained (default 600)')
    .option('--run-start-burst <n>', 'run starts at once before the rate applies (default 100)')
    .option('--task-starts-per-minute <n>', 'task starts per minute per agent, sustained (default 6000)')
    .option('--task-start-burst <n>', 'task starts per agent at once before the rate applies (default 1000)')
    .option('--planner-policy <json|@file>', 'planner policy (a JSON object, or @file.yaml)')
    .option('--tool-policy <json|@file>', 'tool policy')
    .option('--agent-policy <json|@file>', 'agent policy')
    .option('--generation-policy <json|@file>', 'generation policy')
    .option('--meta-learning <on|off>', 'meta-learning opt-in (default off)')
    .option('--notify-url <url|none>', 'webhook known anomalies are POSTed to (its host allowed by the control worker\'s ADOS_HTTP_ALLOWED_HOSTS), or none: the log line only (default none)')
    .option('--json', 'print JSON');
}

const by = () => userInfo().username;

export function registerTenantCommands(program: Command): void {
  const tenant = program.command('tenant').description('tenants: profiles (budgets, limits, priority, policies), spend and alerts (needs DATABASE_URL)');

  profileOptions(tenant.command('create').description('create a tenant: the default profile changed by the flags').argument('<tenant>')).action(
    async (id: string, flags: ProfileFlags) => {
      const patch = patchFromFlags(flags);
      const tenantIdText = tenantId(id);
      const created = await withDatabase((db) => withFlagNames(() => createTenant(db, tenantIdText, patch, by())));
      emit(!!flags.json, created, () => [`created tenant ${created.id}`, ...formatProfile(created.id, created.profile)].join('\n'));
    },
  );

  tenant
    .command('show')
    .description('the profile, spend today and this month against the budget, alerts, runs in flight and recent changes')
    .argument('<tenant>')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const report = await withDatabase((db) => tenantReport(db, tenantId(id)));
      emit(!!opts.json, report, () => formatReport(report));
    });

  profileOptions(tenant.command('update').description('change a tenant\'s profile: only the fields given').argument('<tenant>'))
    .option('--active <on|off>', 'reactivate (on) or deactivate (off)')
    .action(async (id: string, flags: ProfileFlags) => {
      const patch = patchFromFlags(flags);
      const tenantIdText = tenantId(id);
      const updated = await withDatabase((db) => withFlagNames(() => updateTenant(db, tenantIdText, patch, by())));
      // The running gate re-reads its limits; without Temporal the next gate reads them when it starts.
      const gate = await withClient(({ client }) => refreshTenantGate(client, tenantIdText)).catch((error: unknown) => `not refreshed (${(error as Error).message})`);
      emit(!!flags.json, { ...updated, gate }, () => [`updated tenant ${updated.id}`, ...formatProfile(updated.id, updated.profile), `  tenant gate: ${gate}`].join('\n'));
    });

  tenant
    .command('deactivate')
    .description('refuse the tenant\'s new runs; runs in flight finish, unless --cancel-runs cancels them')
    .argument('<tenant>')
    .option('--reason <text>', 'why (audited)')
    .option('--cancel-runs', 'also cancel the tenant\'s running workflows through Temporal (found by AdosTenant)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { reason?: string; cancelRuns?: boolean; json?: boolean }) => {
      const tenantIdText = tenantId(id);
      const deactivated = await withDatabase((db) => deactivateTenant(db, tenantIdText, by(), opts.reason));
      const cancelled = opts.cancelRuns ? await withClient(({ client }) => cancelTenantRuns(client, tenantIdText)) : undefined;
      emit(!!opts.json, { tenant: deactivated, ...(cancelled ? { cancelled } : {}) }, () =>
        [
          `deactivated tenant ${deactivated.id}: new runs are refused`,
          cancelled === undefined
            ? '  runs in flight finish (cancel them: ados tenant deactivate --cancel-runs)'
            : `  asked ${cancelled.length} running workflow(s) to cancel${cancelled.length ? `: ${cancelled.join(', ')}` : ''}`,
        ].join('\n'),
      );
    });

  tenant
    .command('list')
    .description('every tenant with its state, budget and priority')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const tenants: TenantRecord[] = await withDatabase((db) => listTenants(db));
      emit(!!opts.json, tenants, () =>
        tenants.length === 0
          ? 'no tenants'
          : tenants
              .map((t) => {
                const { budget, limits } = t.profile;
                return `${t.id.padEnd(16)} ${(t.profile.active ? 'active' : 'deactivated').padEnd(12)} ${limitText(budget.perDay, budget.unit)}/day  ${limitText(budget.perMonth, budget.unit)}/month  priority ${limits.priority}  runs ≤ ${limits.maxConcurrentRuns}`;
              })
              .join('\n'),
      );
    });

  tenant
    .command('fork-policy')
    .description('copy the policy space (planner, tool, agent, generation) of one tenant to another, creating it if needed')
    .argument('<source>')
    .argument('<target>')
    .option('--json', 'print JSON')
    .action(async (source: string, target: string, opts: { json?: boolean }) => {
      const from = tenantId(source, '<source>');
      const to = tenantId(target, '<target>');
      const forked = await withDatabase((db) => forkPolicy(db, from, to, by()));
      emit(!!opts.json, forked, () => [`copied the policies of ${from} to ${to}`, ...formatProfile(forked.id, forked.profile)].join('\n'));
    });

  // The strategy meta-policy (README, "Strategy learning"): sharing the tenant's run outcomes as aggregates only.
  for (const optIn of [true, false]) {
    tenant
      .command(optIn ? 'opt-in' : 'opt-out')
      .description(optIn
        ? 'share the tenant\'s finished runs with the strategy meta-policy (aggregates only, no tenant id); audited'
        : 'stop sharing: the tenant\'s later runs add nothing to the meta-policy (what it shared stays in the sums); audited')
      .argument('<tenant>')
      .option('--reason <text>', 'why (audited)')
      .option('--json', 'print JSON')
      .action(async (id: string, opts: { reason?: string; json?: boolean }) => {
        const tenantIdText = tenantId(id);
        const updated = await withDatabase((db) => setMetaOptIn(db, tenantIdText, optIn, by(), opts.reason));
        emit(!!opts.json, updated, () => `tenant ${updated.id}: ${optIn ? 'opted in to' : 'opted out of'} the strategy meta-policy (meta-learning ${updated.profile.metaLearning ? 'on' : 'off'})`);
      });
  }
}
