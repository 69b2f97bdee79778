import { createHash } from 'node:crypto';
import { analysis, describeSeries } from '../../activities/capabilities/analysis';
import { build, renderTemplate, type BuildOutput } from '../../activities/capabilities/build';
import { capabilitySpec, CAPABILITIES } from '../../shared/contract/capabilities';
import type { CapabilityRequest } from '../../shared/contract/delivery/capability-io';
import { capabilityRequest, failureOf, runDefinition } from '../helpers/capability';

const request = (input: Record<string, unknown>, overrides: Partial<CapabilityRequest> = {}) =>
  capabilityRequest(input, { taskId: 'build-api', environment: 'stage', ...overrides });

describe('renderTemplate', () => {
  it('replaces placeholders, with or without inner spaces, and stringifies numbers and booleans', () => {
    expect(renderTemplate('{{name}} v{{ version }} ({{count}} pods, canary={{canary}})', { name: 'api', version: '1.4.2', count: 3, canary: false })).toEqual({
      text: 'api v1.4.2 (3 pods, canary=false)',
      missing: [],
    });
  });

  it('reports missing variables (each once) and renders them as empty text', () => {
    expect(renderTemplate('{{name}}:{{tag}}/{{region}}/{{tag}}', { name: 'api' })).toEqual({ text: 'api://', missing: ['tag', 'region'] });
  });

  it('does not take Object.prototype members for variables', () => {
    expect(renderTemplate('{{constructor}}-{{toString}}', {}).missing).toEqual(['constructor', 'toString']);
  });

  it('leaves text that is not a placeholder alone', () => {
    expect(renderTemplate('{name} {{1abc}} {{ }} {{a-b}}', {})).toEqual({ text: '{name} {{1abc}} {{ }} {{a-b}}', missing: [] });
  });
});

describe('build capability', () => {
  it('renders with the built-in variables and hashes the content', async () => {
    const output = (await runDefinition(
      build,
      request({ name: 'api', template: 'service {{name}} v{{version}} for {{tenant}}/{{run}} in {{environment}}\n', variables: { version: '1.4.2' } }),
    )) as BuildOutput;
    const text = 'service api v1.4.2 for acme/r1 in stage\n';
    expect(output).toEqual({
      artifact: 'api@stage',
      content: text,
      bytes: Buffer.byteLength(text),
      sha256: createHash('sha256').update(text).digest('hex'),
    });
  });

  it('uses the default template and name', async () => {
    const output = (await runDefinition(build, request({}))) as BuildOutput;
    expect(output.content).toBe('artifact built for stage\n');
    expect(output.artifact).toBe('artifact@stage');
  });

  it('fails without retry, naming the task and the unknown variables', async () => {
    const failure = await failureOf(runDefinition(build, request({ template: '{{name}} {{version}} {{commit}}' })));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('InvalidCapabilityInput');
    expect(failure.message).toBe('task "build-api" (build): input.template uses unknown variable(s) version, commit; add them to input.variables');
  });

  it('refuses malformed input with the path under input.', async () => {
    const failure = await failureOf(runDefinition(build, request({ variables: { version: { major: 1 } } })));
    expect(failure.message).toContain('task "build-api" (build): input.variables.version:');
  });
});

describe('describeSeries', () => {
  it('computes count, mean, sample stddev, min, max and percentiles on a known series', () => {
    // sorted: 2 4 4 4 5 5 7 9; mean 40/8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32; sample variance 32/7.
    // p50: rank 3.5 → (4+5)/2 = 4.5; p95: rank 6.65 → 7 + 0.65·(9−7) = 8.3.
    const stats = describeSeries([5, 9, 4, 2, 4, 7, 4, 5]);
    expect(stats.count).toBe(8);
    expect(stats.mean).toBe(5);
    expect(stats.stddev).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(stats.min).toBe(2);
    expect(stats.max).toBe(9);
    expect(stats.p50).toBeCloseTo(4.5, 12);
    expect(stats.p95).toBeCloseTo(8.3, 12);
    expect(stats.outliers).toEqual([]);
  });

  it('detects the index of an outlier', () => {
    // 19 zeros and a 20 at index 7: mean 1, squared deviations 19·1 + 19² = 380, variance 380/19 = 20,
    // so z(20) = 19/√20 ≈ 4.25 and z(0) = −1/√20 ≈ −0.22.
    const series = Array.from({ length: 20 }, (_, i) => (i === 7 ? 20 : 0));
    const stats = describeSeries(series);
    expect(stats.mean).toBe(1);
    expect(stats.stddev).toBeCloseTo(Math.sqrt(20), 12);
    expect(stats.outliers).toEqual([7]);
    expect(describeSeries(series, 4.2).outliers).toEqual([7]);
    expect(describeSeries(series, 4.3).outliers).toEqual([]);
  });

  it('uses the threshold it is given (example plan: z ≈ 2.85 is flagged at 2.5, not at the default 3)', () => {
    const latency = [120, 118, 125, 119, 121, 122, 480, 117, 123, 120];
    expect(describeSeries(latency, 2.5).outliers).toEqual([6]);
    expect(describeSeries(latency).outliers).toEqual([]);
    expect(describeSeries(latency).mean).toBeCloseTo(156.5, 12);
  });

  it('finds no outliers in a constant series (stddev 0)', () => {
    expect(describeSeries([7, 7, 7, 7], 0.1)).toEqual({ count: 4, mean: 7, stddev: 0, min: 7, max: 7, p50: 7, p95: 7, outliers: [] });
  });

  it('analysis capability refuses a series shorter than two values without retry', async () => {
    const failure = await failureOf(runDefinition(analysis, request({ series: [1] }, { taskId: 'latency' })));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe('task "latency" (analysis): input.series: give at least two values');
  });

  it('analysis capability returns the statistics with its threshold', async () => {
    const output = await runDefinition(analysis, request({ series: [1, 2, 3, 4, 100], zThreshold: 1.5 }));
    expect(output).toEqual(expect.objectContaining({ count: 5, min: 1, max: 100, p50: 3, outliers: [4] }));
  });
});

describe('capability registry', () => {
  it('knows the built-in capabilities and nothing from Object.prototype', () => {
    expect(Object.keys(CAPABILITIES).slice(0, 4)).toEqual(['build', 'deploy', 'verify', 'analysis']);
    expect(Object.keys(CAPABILITIES)).toEqual(expect.arrayContaining(['demo.text', 'demo.text.fallback', 'noop']));
    expect(capabilitySpec('build')?.retry.maximumAttempts).toBe(3);
    expect(capabilitySpec('teleport')).toBeUndefined();
    expect(capabilitySpec('toString')).toBeUndefined();
  });
});
