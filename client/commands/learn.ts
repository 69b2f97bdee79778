import type { Command } from 'commander';
import { STRATEGY_ARM_NAMES } from '../../shared/contract/learning/strategy/strategy';
import type { SimulationReport } from '../../shared/node/learning/strategy/service';
import type { Estimate } from '../../shared/node/learning/strategy/off-policy';
import { scopedTenant, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { configureMeta, configureStrategies, estimateStrategies, showMeta, showStrategies, startStrategyPromotion, trainShadow, trainShadowByWorkflow, validatePromotion } from '../learning/strategy';
import { withClient } from './context';
import { registerTransferCommand } from '../learning/transfer';
import { emit } from '../output';

const f = (x: number) => x.toFixed(3);
const interval = (e: Estimate) => `${f(e.value)} [${f(e.low)}, ${f(e.high)}]`;

function formatEstimates(reports: SimulationReport[]): string {
  const [first] = reports;
  const lines = [`${first.logged.n} logged runs, mean reward ${f(first.logged.meanReward)}; estimates with 95 % intervals`];
  lines.push(`${'strategy'.padEnd(16)} ${'IPS'.padEnd(26)} DR`);
  for (const r of reports) lines.push(`${r.strategy.padEnd(16)} ${interval(r.ips).padEnd(26)} ${interval(r.dr)}`);
  return lines.join('\n');
}

const strategyList = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

export function registerLearnCommands(program: Command): void {
  const learn = program.command('learn').description('strategy learning: the bandit that chooses delivery strategies, off-policy estimates, the shadow model (needs DATABASE_URL)');
  registerTransferCommand(learn);

  learn
    .command('show')
    .description('a tenant\'s arms: pulls, mean reward, and with --context their current scores')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--context <pairs>', 'type=deploy,complexity=high,risk=medium,maxCost=50[,at=<ISO time>]')
    .option('--json', 'print JSON')
    .action(async (flags: { tenant?: string; context?: string; json?: boolean }) => {
      const report = await showStrategies(scopedTenant(flags.tenant), flags.context);
      emit(!!flags.json, report, () => {
        const lines = [`tenant ${report.tenantId}: alpha ${report.settings.alpha}, epsilon ${report.settings.epsilon}, ${report.stateVersion} reward(s) applied`];
        for (const arm of report.arms) {
          const score = arm.score ? `  score ${f(arm.score.score)} (estimate ${f(arm.score.estimate)} + bonus ${f(arm.score.bonus)})` : '';
          lines.push(`${arm.arm.padEnd(16)} pulls ${String(arm.pulls).padStart(5)}  mean reward ${arm.meanReward === undefined ? '    -' : f(arm.meanReward)}${score}`);
        }
        return lines.join('\n');
      });
    });

  learn
    .command('simulate')
    .description('what always playing a strategy would have earned on the tenant\'s logged runs (IPS and doubly robust)')
    .requiredOption('--strategy <arm>', `one of ${STRATEGY_ARM_NAMES.join(', ')}`)
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (flags: { strategy: string; tenant?: string; json?: boolean }) => {
      const reports = await estimateStrategies(scopedTenant(flags.tenant), [flags.strategy]);
      emit(!!flags.json, reports[0], () => formatEstimates(reports));
    });

  learn
    .command('compare')
    .description('off-policy estimates of several strategies side by side')
    .argument('<arms>', 'comma-separated, e.g. as-planned,serial,fast-rollout')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (arms: string, flags: { tenant?: string; json?: boolean }) => {
      const reports = await estimateStrategies(scopedTenant(flags.tenant), strategyList(arms));
      emit(!!flags.json, reports, () => formatEstimates(reports));
    });

  learn
    .command('configure')
    .description('the tenant\'s arm set and exploration (only the flags given change)')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--arms <arms>', `comma-separated, from ${STRATEGY_ARM_NAMES.join(', ')}`)
    .option('--alpha <number>', 'LinUCB confidence width (0 to 10)')
    .option('--epsilon <number>', 'share of runs given a uniformly drawn arm (0 to 1)')
    .option('--json', 'print JSON')
    .action(async (flags: { tenant?: string; arms?: string; alpha?: string; epsilon?: string; json?: boolean }) => {
      const settings = await configureStrategies(scopedTenant(flags.tenant), {
        ...(flags.arms !== undefined ? { arms: strategyList(flags.arms) } : {}),
        ...(flags.alpha !== undefined ? { alpha: Number(flags.alpha) } : {}),
        ...(flags.epsilon !== undefined ? { epsilon: Number(flags.epsilon) } : {}),
      });
      emit(!!flags.json, settings, () => `arms ${settings.arms.join(', ')}; alpha ${settings.alpha}; epsilon ${settings.epsilon}`);
    });

  learn
    .command('train')
    .description('train the tenant\'s shadow model (conservative Q-learning) through the strategyTraining workflow; its choice is recorded beside live decisions, never acted on')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--local', 'train in this process instead (no Temporal; DATABASE_URL only)')
    .option('--json', 'print JSON')
    .action(async (flags: { tenant?: string; local?: boolean; json?: boolean }) => {
      const tenantId = scopedTenant(flags.tenant);
      const trained = flags.local ? await trainShadow(tenantId) : await withClient(({ client, config }) => trainShadowByWorkflow(client, config, tenantId));
      emit(!!flags.json, trained, () =>
        trained.outcome === 'unchanged' ? `shadow model v${trained.version} is current: ${trained.reason}` : `shadow model v${trained.version} trained on ${trained.runs} runs`,
      );
    });

  learn
    .command('promote')
    .description('promote the tenant\'s shadow model to live: only if its estimate beats live by the margin, after approval (ados approve <workflowId>); rolled back if its next runs earn less')
    .requiredOption('--model <version>', 'the shadow model version (ados learn train prints it)')
    .requiredOption('--approvers <ids>', 'comma-separated approvers of the promotion')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--quorum <n>', 'approvals needed', '1')
    .option('--timeout <duration>', 'how long the gate waits, e.g. 24h', '24h')
    .option('--margin <reward>', 'how far the model\'s lower bound must clear live\'s mean reward', '0.05')
    .option('--watch-runs <n>', 'live runs after promotion that decide keep or roll back', '20')
    .option('--as <user>', 'who asks', process.env.USER ?? 'unknown')
    .option('--json', 'print JSON')
    .action(async (flags: { model: string; approvers: string; tenant?: string; quorum: string; timeout: string; margin: string; watchRuns: string; as: string; json?: boolean }) => {
      const input = validatePromotion({
        tenantId: scopedTenant(flags.tenant),
        modelVersion: Number(flags.model),
        requestedBy: flags.as,
        approval: { approvers: strategyList(flags.approvers), quorum: Number(flags.quorum), timeout: flags.timeout },
        margin: Number(flags.margin),
        watchRuns: Number(flags.watchRuns),
      });
      const started = await withClient(({ client, config }) => startStrategyPromotion(client, config, input));
      emit(!!flags.json, started, () => `started ${started.workflowId}: approve with ados approve ${started.workflowId} --as <user>`);
    });

  const meta = learn.command('meta').description('the meta-policy across opted-in tenants (ados tenant opt-in|opt-out): aggregates only, served from k tenants and n runs');
  meta
    .command('show')
    .description('the thresholds and each pattern (goal type, budget band): tenants and runs behind it, served or not')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const report = await showMeta();
      emit(!!flags.json, report, () => {
        const { settings } = report;
        const lines = [`served from ${settings.minTenants} tenants and ${settings.minRuns} runs; a warm start gives an arm at most ${settings.maxPriorRuns} pseudo-runs`];
        if (report.patterns.length === 0) lines.push('no contributions yet');
        for (const p of report.patterns) lines.push(`${`${p.goalType}/${p.budgetBand}`.padEnd(20)} tenants ${String(p.tenants).padStart(4)}  runs ${String(p.runs).padStart(6)}  ${p.served ? 'served' : 'not served'}`);
        return lines.join('\n');
      });
    });
  meta
    .command('configure')
    .description('the installation\'s thresholds (only the flags given change)')
    .option('--min-tenants <k>', 'distinct tenants a pattern needs to be served (at least 2; default 3)')
    .option('--min-runs <n>', 'runs a pattern needs to be served (default 30)')
    .option('--max-prior-runs <m>', 'most pseudo-runs a warm start gives one arm (0: no warm start; default 10)')
    .option('--json', 'print JSON')
    .action(async (flags: { minTenants?: string; minRuns?: string; maxPriorRuns?: string; json?: boolean }) => {
      const settings = await configureMeta({
        ...(flags.minTenants !== undefined ? { minTenants: Number(flags.minTenants) } : {}),
        ...(flags.minRuns !== undefined ? { minRuns: Number(flags.minRuns) } : {}),
        ...(flags.maxPriorRuns !== undefined ? { maxPriorRuns: Number(flags.maxPriorRuns) } : {}),
      });
      emit(!!flags.json, settings, () => `served from ${settings.minTenants} tenants and ${settings.minRuns} runs; at most ${settings.maxPriorRuns} pseudo-runs per arm`);
    });
}
