export { strategyPromotion } from './strategy-promotion';
export { strategyTraining } from './strategy-training';
