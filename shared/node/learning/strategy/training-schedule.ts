/**
 * The shadow-training Schedule (README, "Strategy learning"): `strategyTraining` over every tenant with new rewarded
 * runs, daily by default, created or brought to its configuration idempotently beside the transfer-learning one
 * (npm start, `ados schedule ensure`). Configured by ADOS_STRATEGY_TRAINING_SCHEDULE_{EVERY,CRON,JITTER,CATCHUP_WINDOW}.
 */
import { ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { STRATEGY_TRAINING_ID_PREFIX, STRATEGY_TRAINING_SCHEDULE_ID } from '../../../contract/learning/strategy/training';
import { AdosKind } from '../../../contract/search-attributes';
import { controlTaskQueue } from '../../../contract/task-queues';
import { ConfigError } from '../../config';
import { specOf } from '../../schedules/schedules';
import { scheduleTimingSchema, type ScheduleTiming } from '../../schedules/spec';

export interface StrategyTrainingScheduleConfig {
  scheduleId: string;
  timing: Required<Pick<ScheduleTiming, 'jitter' | 'catchupWindow'>> & Pick<ScheduleTiming, 'every' | 'cron'>;
}

const ENV_OF_TIMING = {
  every: 'ADOS_STRATEGY_TRAINING_SCHEDULE_EVERY',
  cron: 'ADOS_STRATEGY_TRAINING_SCHEDULE_CRON',
  jitter: 'ADOS_STRATEGY_TRAINING_SCHEDULE_JITTER',
  catchupWindow: 'ADOS_STRATEGY_TRAINING_SCHEDULE_CATCHUP_WINDOW',
} as const;

/** Every 24 h by default, jitter 30m, catch-up window 6h; a bad value names its variable. */
export function loadStrategyTrainingScheduleConfig(env: Record<string, string | undefined> = process.env): StrategyTrainingScheduleConfig {
  const value = (key: keyof typeof ENV_OF_TIMING) => (env[ENV_OF_TIMING[key]] ? env[ENV_OF_TIMING[key]] : undefined);
  const cron = value('cron');
  const timing = scheduleTimingSchema.safeParse({
    every: cron || value('every') ? value('every') : '24h',
    cron,
    jitter: value('jitter') ?? '30m',
    catchupWindow: value('catchupWindow') ?? '6h',
  });
  if (!timing.success) throw new ConfigError(timing.error.issues.map((i) => `${ENV_OF_TIMING[i.path[0] as keyof typeof ENV_OF_TIMING]}: ${i.message}`));
  return { scheduleId: STRATEGY_TRAINING_SCHEDULE_ID, timing: { ...timing.data, jitter: timing.data.jitter ?? '30m', catchupWindow: timing.data.catchupWindow ?? '6h' } };
}

/** The Schedule: starts `strategyTraining` (all tenants) on the control queue, overlap SKIP. */
export function strategyTrainingScheduleOptions(config: StrategyTrainingScheduleConfig, taskQueuePrefix: string): ScheduleOptions {
  return {
    scheduleId: config.scheduleId,
    spec: specOf({ ...config.timing, jitter: config.timing.jitter as Duration }),
    action: {
      type: 'startWorkflow',
      workflowType: 'strategyTraining',
      workflowId: STRATEGY_TRAINING_ID_PREFIX,
      taskQueue: controlTaskQueue(taskQueuePrefix),
      args: [{}],
      staticSummary: 'train the shadow strategy models of tenants with new runs',
      typedSearchAttributes: [{ key: AdosKind, value: 'learning' }],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: config.timing.catchupWindow as Duration },
    typedSearchAttributes: [{ key: AdosKind, value: 'learning' }],
    state: { note: 'created by ADOS (npm start or `ados schedule ensure`)' },
  };
}
