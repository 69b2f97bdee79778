import { userInfo } from 'node:os';
import type { ScheduleDescription } from '@temporalio/client';
import type { Command } from 'commander';
import { loadConfig } from '../../shared/node/config';
import { backfillSchedule, describeSchedule, ensureSchedule, listSchedules, setSchedulePaused, transferScheduleOptions, triggerSchedule, updateScheduleTiming } from '../../shared/node/schedules/schedules';
import { loadTransferScheduleConfig } from '../../shared/node/schedules/spec';
import { loadStrategyTrainingScheduleConfig, strategyTrainingScheduleOptions } from '../../shared/node/learning/strategy/training-schedule';
import { openCliDatabase } from '../common/database';
import { emit } from '../output';
import { withClient } from './context';

/** What `describe` prints: the schedule's timing, state (its note says who paused it and why), next and recent runs. */
function describedView(d: ScheduleDescription) {
  const action = d.action.type === 'startWorkflow' ? { workflowType: d.action.workflowType, workflowId: d.action.workflowId, taskQueue: d.action.taskQueue } : { type: d.action.type };
  return {
    scheduleId: d.scheduleId,
    spec: { intervals: d.spec.intervals, calendars: d.spec.calendars?.length ?? 0, skip: d.spec.skip?.length ?? 0, jitter: d.spec.jitter, timezone: d.spec.timezone },
    policies: d.policies,
    action,
    paused: d.state.paused,
    note: d.state.note,
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
    recentActions: d.info.recentActions.map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })),
  };
}

function formatDescribed(view: ReturnType<typeof describedView>): string {
  // Temporal keeps a cron expression as calendars.
  const timing = view.spec.intervals?.length ? `every ${view.spec.intervals.map((i) => `${Number(i.every) / 3_600_000}h`).join(', ')}` : `${view.spec.calendars} calendar(s) (cron)`;
  return [
    `${view.scheduleId}: ${'workflowType' in view.action ? `${view.action.workflowType} on ${view.action.taskQueue}` : view.action.type}`,
    `  ${timing}, jitter ${view.spec.jitter === undefined ? 'none' : `${Number(view.spec.jitter) / 1000}s`}, overlap ${view.policies.overlap}, catch-up window ${Number(view.policies.catchupWindow) / 1000}s, skip calendars ${view.spec.skip}`,
    `  ${view.paused ? 'PAUSED' : 'active'}${view.note ? `: ${view.note}` : ''}`,
    `  next: ${view.nextActionTimes.slice(0, 3).join(', ') || 'none'}`,
    `  recent: ${view.recentActions.map((a) => a.workflowId).join(', ') || 'none'}${view.running.length ? `; running: ${view.running.join(', ')}` : ''}`,
  ].join('\n');
}

const print = async (id: string, json: boolean, d?: ScheduleDescription) => {
  const view = describedView(d ?? (await withClient(({ client }) => describeSchedule(client, id))));
  emit(json, view, () => formatDescribed(view));
};

async function pauseOrUnpause(id: string, flags: { reason: string; as?: string; json?: boolean }, paused: boolean): Promise<void> {
  const database = await openCliDatabase(loadConfig(), `ados schedule ${paused ? 'pause' : 'unpause'} (it audits)`);
  try {
    const described = await withClient(({ client }) => setSchedulePaused(client, database.db, { scheduleId: id, by: flags.as ?? userInfo().username, reason: flags.reason, at: new Date() }, paused));
    await print(id, !!flags.json, described);
  } finally {
    await database.close();
  }
}

/** `ados schedule …`: a thin layer over Temporal's Schedules API. */
export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('Temporal Schedules of ADOS (the transfer-learning cycles): list, describe, pause, unpause, trigger, backfill, update, ensure');

  schedule
    .command('list')
    .description('every schedule in the namespace, paused or not, with its next runs')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const listed = await withClient(({ client }) => listSchedules(client));
      emit(!!flags.json, listed, () => (listed.length === 0 ? 'no schedules (npm start or `ados schedule ensure` creates learning-transfer)' : listed.map((s) => `${s.scheduleId}  ${s.workflowType ?? '-'}  ${s.paused ? 'PAUSED' : 'active'}  next ${s.nextActionTimes[0] ?? 'none'}${s.note ? `  (${s.note})` : ''}`).join('\n')));
    });

  schedule
    .command('describe <id>')
    .description('a schedule\'s timing, policies, state and note, next and recent runs')
    .option('--json', 'print JSON')
    .action((id: string, flags: { json?: boolean }) => print(id, !!flags.json));

  schedule
    .command('pause <id>')
    .description('pause a schedule; who and why go to its note (the Web UI shows it) and to the audit log')
    .requiredOption('--reason <text>', 'why, e.g. "source domain being relabeled"')
    .option('--as <user>', 'who pauses it (default: your user name)')
    .option('--json', 'print JSON')
    .action((id: string, flags: { reason: string; as?: string; json?: boolean }) => pauseOrUnpause(id, flags, true));

  schedule
    .command('unpause <id>')
    .description('resume a paused schedule (audited like pause)')
    .requiredOption('--reason <text>', 'why, e.g. "relabeling done"')
    .option('--as <user>', 'who unpauses it (default: your user name)')
    .option('--json', 'print JSON')
    .action((id: string, flags: { reason: string; as?: string; json?: boolean }) => pauseOrUnpause(id, flags, false));

  schedule
    .command('trigger <id>')
    .description('run the schedule\'s action now (its overlap policy applies)')
    .action(async (id: string) => {
      await withClient(({ client }) => triggerSchedule(client, id));
      process.stdout.write(`triggered ${id}\n`);
    });

  schedule
    .command('backfill <id>')
    .description('run the actions the schedule would have taken between two past times, each once, one after another')
    .requiredOption('--from <time>', 'ISO-8601, e.g. 2030-01-01T00:00:00Z')
    .requiredOption('--to <time>', 'ISO-8601, not in the future')
    .action(async (id: string, flags: { from: string; to: string }) => {
      const range = await withClient(({ client }) => backfillSchedule(client, id, flags.from, flags.to));
      process.stdout.write(`backfilling ${id} from ${range.start.toISOString()} to ${range.end.toISOString()}\n`);
    });

  schedule
    .command('update <id>')
    .description('change when a schedule fires')
    .option('--every <duration>', 'an interval, e.g. 12h')
    .option('--cron <expression>', 'five fields, e.g. "0 */12 * * *" (instead of --every)')
    .option('--jitter <duration>', 'a random delay up to this, e.g. 10m')
    .option('--catchup-window <duration>', 'how late a missed run may still start, e.g. 6h')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { every?: string; cron?: string; jitter?: string; catchupWindow?: string; json?: boolean }) => {
      const described = await withClient(({ client }) => updateScheduleTiming(client, id, { every: flags.every, cron: flags.cron, jitter: flags.jitter, catchupWindow: flags.catchupWindow }));
      await print(id, !!flags.json, described);
    });

  schedule
    .command('ensure')
    .description('create ADOS\'s schedules, or bring them to their configuration (ADOS_TRANSFER_SCHEDULE_*): the deploy step')
    .action(async () => {
      const config = loadConfig();
      const options = transferScheduleOptions(loadTransferScheduleConfig(), config.taskQueuePrefix);
      const outcome = await withClient(({ client }) => ensureSchedule(client, options));
      process.stdout.write(`${options.scheduleId}: ${outcome}\n`);
      const training = strategyTrainingScheduleOptions(loadStrategyTrainingScheduleConfig(), config.taskQueuePrefix);
      process.stdout.write(`${training.scheduleId}: ${await withClient(({ client }) => ensureSchedule(client, training))}\n`);
    });
}
