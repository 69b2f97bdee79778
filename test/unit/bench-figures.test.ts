import { temporal } from '@temporalio/proto';
import { describeCommit, summaryMarkdown, targetMet, toMarkdown, type BenchReport } from '../../bench/harness';
import { eventCounts, taskWaits, workflowTaskBusyMs, type HistoryEvent } from '../../bench/lib/history';
import { makespan, makespanParts } from '../../bench/lib/makespan';

const at = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

describe('bench figures', () => {
  it('splits a DAG run into dispatch waits and activity time beyond the work', () => {
    const intervals = [
      { name: 'a', start: 0, end: 205 },
      { name: 'b', start: 3, end: 210 },
      { name: 'c', start: 220, end: 430 },
    ];
    const dependsOn = new Map([['c', ['a', 'b']]]);
    expect(makespan(intervals)).toBe(430);
    // c waits from its last dependency's end (b, 210); the roots have no wait.
    expect(makespanParts(intervals, dependsOn, 200)).toEqual({ dispatchMs: [10], activityMs: [5, 7, 10] });
    expect(makespan([])).toBe(0);
  });

  it('reads task waits, workflow-task time and event counts from a history', () => {
    const events: HistoryEvent[] = (
      [
        { eventId: 1, eventTime: at(1000), workflowExecutionStartedEventAttributes: {} },
        { eventId: 2, eventTime: at(1000), workflowTaskScheduledEventAttributes: {} },
        { eventId: 3, eventTime: at(1004), workflowTaskStartedEventAttributes: { scheduledEventId: 2 } },
        { eventId: 4, eventTime: at(1010), workflowTaskCompletedEventAttributes: { scheduledEventId: 2, startedEventId: 3 } },
        { eventId: 5, eventTime: at(1010), markerRecordedEventAttributes: {} },
        { eventId: 6, eventTime: at(1010), upsertWorkflowSearchAttributesEventAttributes: {} },
        { eventId: 7, eventTime: at(1010), activityTaskScheduledEventAttributes: {} },
        { eventId: 8, eventTime: at(1030), activityTaskStartedEventAttributes: { scheduledEventId: 7 } },
        { eventId: 9, eventTime: at(1040), activityTaskCompletedEventAttributes: { scheduledEventId: 7, startedEventId: 8 } },
        { eventId: 10, eventTime: at(1040), workflowTaskScheduledEventAttributes: {} },
        { eventId: 11, eventTime: at(1041), workflowTaskStartedEventAttributes: { scheduledEventId: 10 } },
        { eventId: 12, eventTime: at(1044), workflowTaskCompletedEventAttributes: { scheduledEventId: 10, startedEventId: 11 } },
      ] as const
    ).map((e) => temporal.api.history.v1.HistoryEvent.fromObject(e));
    expect(taskWaits(events)).toEqual({ workflow: [4, 1], activity: [20] });
    expect(workflowTaskBusyMs(events)).toBe(9);
    expect(eventCounts(events)).toEqual({ events: 12, activities: 1, workflowTasks: 2, markers: 1, searchAttributeUpserts: 1 });
  });

  it('says which commit a report measured, listing at most ten changed files', () => {
    expect(describeCommit({ sha: 'abc', dirty: false, changedFiles: [] })).toBe('commit abc');
    const files = Array.from({ length: 12 }, (_, i) => `f${i}.ts`);
    expect(describeCommit({ sha: 'abc', dirty: true, changedFiles: files })).toBe(
      'commit abc with uncommitted changes in 12 file(s): f0.ts, f1.ts, f2.ts, f3.ts, f4.ts, f5.ts, f6.ts, f7.ts, f8.ts, f9.ts … and 2 more',
    );
    expect(describeCommit({ dirty: true, changedFiles: [], error: 'not measured from a git checkout: no git' })).toBe('commit unknown (not measured from a git checkout: no git)');
    const report: BenchReport = { benchmark: 'x', description: 'd', metrics: [{ name: 'ratio', value: 1.1, unit: 'x', target: { op: '<=', value: 1.05 } }] };
    const markdown = toMarkdown(report, '2020-01-01T00:00:00.000Z', { sha: 'abc', dirty: false, changedFiles: [] });
    expect(markdown).toContain('measured commit abc.');
    expect(markdown).toContain('| ratio | 1.100 | x | <= 1.05 | NO |');
  });

  it('summarises every target of every result file, met or not', () => {
    const metric = (value: number, target?: { op: '<=' | '>='; value: number }) => ({ name: `m${value}`, value, unit: 'x', ...(target ? { target } : {}) });
    expect(targetMet(metric(2, { op: '>=', value: 2 }))).toBe(true);
    expect(targetMet(metric(2))).toBeUndefined();
    const summary = summaryMarkdown([
      {
        file: 'a.json',
        content: JSON.stringify({
          benchmark: 'a',
          recordedAt: 't1',
          commit: { sha: '0123456789abcdef', dirty: true, changedFiles: ['x.ts'] },
          metrics: [metric(1.02, { op: '<=', value: 1.05 }), metric(7), metric(1.2, { op: '<=', value: 1.15 })],
        }),
      },
      { file: 'b.json', content: JSON.stringify({ benchmark: 'b', recordedAt: 't2', metrics: [metric(0, { op: '<=', value: 0 })] }) },
    ]);
    const rows = summary.split('\n').filter((line) => line.startsWith('| ['));
    expect(rows).toEqual([
      '| [a](a.md) | m1.02 <= 1.05 x | 1.020 | yes | t1 | 0123456789ab (dirty) |',
      '| [a](a.md) | m1.2 <= 1.15 x | 1.200 | NO | t1 | 0123456789ab (dirty) |',
      '| [b](b.md) | m0 <= 0 x | 0 | yes | t2 | not recorded |',
    ]);
    expect(() => summaryMarkdown([{ file: 'c.json', content: '{"benchmark": 1}' }])).toThrow(/bench\/results\/c\.json is not a benchmark result: benchmark/);
  });
});
