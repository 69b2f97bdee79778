/** The example plugin's own tests: its counting, its input schema, and its handler with a context it records into. */
import wordCount, { countWords } from '../src/index';
import type { CapabilityContext } from 'ados/capability';

describe('example.word-count', () => {
  it('counts words, case-insensitively, and ranks the most frequent (ties in order of first use)', () => {
    expect(countWords('The cat and the hat. THE end', 2)).toEqual({ words: 7, distinct: 5, top: [{ word: 'the', count: 3 }, { word: 'cat', count: 1 }] });
    expect(countWords("don't stop", 5).top.map((t) => t.word)).toEqual(["don't", 'stop']);
  });

  it('refuses an empty text and a top out of range, naming the field', () => {
    const empty = wordCount.input.safeParse({ text: '' });
    expect(empty.success ? [] : empty.error.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['text', 'give the text to count']]);
    expect(wordCount.input.safeParse({ text: 'a', top: 0 }).success).toBe(false);
    expect(wordCount.input.parse({ text: 'a' })).toEqual({ text: 'a', top: 3 });
  });

  it('the handler returns what its output schema accepts and reports the words as its cost', async () => {
    const costs: Array<[number, string]> = [];
    const logged: unknown[] = [];
    const ctx = {
      request: { tenantId: 'acme', workflowId: 'delivery-acme-r1', runId: 'r1', taskId: 'count', environment: 'dev', input: {}, upstream: {} },
      logger: { info: (fields: unknown) => logged.push(fields) },
      reportCost: (amount: number, unit: string) => costs.push([amount, unit]),
    } as unknown as CapabilityContext;
    const output = await wordCount.handler(wordCount.input.parse({ text: 'to be or not to be', top: 1 }), ctx);
    expect(wordCount.output.parse(output)).toEqual({ words: 6, distinct: 4, top: [{ word: 'to', count: 2 }] });
    expect(costs).toEqual([[6, 'words']]);
    expect(logged).toEqual([{ words: 6 }]);
  });

  it('a text of punctuation only is refused as input, not retried', async () => {
    const ctx = { request: { taskId: 'count' } } as unknown as CapabilityContext;
    await expect(wordCount.handler(wordCount.input.parse({ text: '...' }), ctx)).rejects.toMatchObject({
      type: 'InvalidCapabilityInput',
      nonRetryable: true,
      message: 'task "count" (example.word-count): input.text holds no words',
    });
  });
});
