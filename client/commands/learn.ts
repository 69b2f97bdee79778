import type { Command } from 'commander';
import { STRATEGY_ARM_NAMES } from '../../shared/contract/learning/strategy/strategy';
import type { SimulationReport } from '../../shared/node/learning/strategy/service';
import type { Estimate } from '../../shared/node/learning/strategy/off-policy';
import { scopedTenant, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { configureStrategies, estimateStrategies, showStrategies, startStrategyPromotion, trainShadow, validatePromotion } from '../learning/strategy';
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
    .description('train the tenant\'s shadow model (conservative Q-learning); its choice is recorded beside live decisions, never acted on')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (flags: { tenant?: string; json?: boolean }) => {
      const trained = await trainShadow(scopedTenant(flags.tenant));
      emit(!!flags.json, trained, () => `shadow model v${trained.version} trained on ${trained.runs} runs`);
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
}
