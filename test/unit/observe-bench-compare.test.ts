import { compareMarkdown, summaryMarkdown } from '../../bench/harness';

const result = (benchmark: string, metrics: unknown[]) => JSON.stringify({ benchmark, recordedAt: '2026-12-01T00:00:00.000Z', commit: { sha: 'a'.repeat(40), dirty: false, changedFiles: [] }, metrics });

describe('npm run bench -- --compare', () => {
  const a = { file: 'a.json', content: result('routing-overhead', [{ name: 'ratio', value: 1.2, unit: 'x', target: { op: '<=', value: 1.05 } }, { name: 'only a', value: 3, unit: 'ms' }]) };
  const b = { file: 'b.json', content: result('routing-overhead-cluster', [{ name: 'ratio', value: 0.9, unit: 'x', target: { op: '<=', value: 1.05 } }, { name: 'only b', value: 4, unit: 'ms' }]) };

  it('puts each metric of either file on one line, with b / a and whether each side meets the target', () => {
    const lines = compareMarkdown(a, b).split('\n');
    expect(lines).toContain('| ratio | x | <= 1.05 | 1.200 (NO) | 0.900 (yes) | 0.750 |');
    expect(lines).toContain('| only a | ms |  | 3 |  |  |');
    expect(lines).toContain('| only b | ms |  |  | 4 |  |');
    expect(lines).toContain(`- b: routing-overhead-cluster (2026-12-01T00:00:00.000Z, ${'a'.repeat(12)})`);
  });

  it('refuses a file that is not a result, naming it and the field', () => {
    expect(() => compareMarkdown(a, { file: 'b.json', content: '{"benchmark": 1}' })).toThrow(/b\.json is not a benchmark result: benchmark/);
    expect(() => compareMarkdown({ file: 'x.json', content: 'nope' }, b)).toThrow(/x\.json is not JSON/);
  });
});

describe('bench/results/summary.md', () => {
  it('lists each target with met or not, and the figures of a benchmark without targets as "no target"', () => {
    const summary = summaryMarkdown([
      { file: 'r.json', content: result('routing-overhead', [{ name: 'ratio', value: 1.2, unit: 'x', target: { op: '<=', value: 1.05 } }, { name: 'info', value: 2, unit: 'ms' }]) },
      { file: 'w.json', content: result('worker-startup', [{ name: 'prebuilt / bundling', value: 0.4, unit: 'ratio' }]) },
    ]);
    expect(summary).toContain('| [routing-overhead](r.md) | ratio <= 1.05 x | 1.200 | NO |');
    expect(summary).not.toContain('info');
    expect(summary).toContain('| [worker-startup](w.md) | prebuilt / bundling (no target) | 0.400 ratio | n/a |');
  });
});
