export { strategyPromotion } from './strategy-promotion';
