import { benchDag } from './suites/routing-overhead';
const tasks = benchDag().map((t) => ({ ...t, capability: 'noop', input: {} }));
const input = { tenantId: 'bench', runId: 'r', requestedBy: 'bench', goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 0 }, environments: ['dev'], maxParallel: 10, plan: { tasks } };
function fresh(mod: string) {
  for (const k of Object.keys(require.cache)) if (!k.includes('node_modules')) delete require.cache[k];
  const t = performance.now();
  const m = require(mod);
  return [m, performance.now() - t] as const;
}
for (let i = 0; i < 4; i++) {
  const [w, a] = fresh('../workflows/index');
  const [, b] = fresh('./workflows/bare-dag');
  const [inp] = fresh('../shared/contract/delivery/input');
  const t = performance.now(); inp.validateDeliveryRunInput(input); const v1 = performance.now() - t;
  console.log(`workflows/index ${a.toFixed(1)} bare-dag ${b.toFixed(1)} validate(first, fresh module) ${v1.toFixed(1)}`); void w;
}
