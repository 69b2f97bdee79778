import type { PromotionEvaluation, StrategyPromotionActivities, WatchCount } from '../../../shared/contract/learning/strategy/promotion';
import type { Db } from '../../../shared/node/db';
import { evaluatePromotion } from '../../../shared/node/learning/strategy/service';
import { closePromotion, countModelRuns, promoteModel } from '../../../shared/node/learning/strategy/store';
import { appendAudit, finishRun, insertRun } from '../../common/run-records';
import { refusingInvalid } from './strategy-activities';

/** The activities of the strategyPromotion workflow (README, "Strategy learning"), on the control queue. */
export function createStrategyPromotionActivities(db: Db): StrategyPromotionActivities {
  return {
    /** The promotion's row in `runs` (kind `learning`) and its `run.started` entry. */
    async recordPromotionStarted(record) {
      await db.transaction().execute(async (trx) => {
        await insertRun(trx, { ...record, runId: record.workflowId, kind: 'learning' });
        await appendAudit(trx, record);
      });
    },
    /** The model's off-policy estimate against the live policy's mean reward; too few runs is not retried. */
    evaluateStrategyPromotion(request): Promise<PromotionEvaluation> {
      return refusingInvalid('promotion request', () => evaluatePromotion(db, request));
    },
    async promoteStrategyModel(request) {
      await promoteModel(db, request);
    },
    countLiveModelRuns(request): Promise<WatchCount> {
      return countModelRuns(db, request.tenantId, request.modelVersion);
    },
    async closeStrategyPromotion(request) {
      await closePromotion(db, request);
    },
    async recordPromotionFinished(record) {
      await db.transaction().execute(async (trx) => {
        await finishRun(trx, record.workflowId, record.status, record.result);
        await appendAudit(trx, record);
      });
    },
  };
}
