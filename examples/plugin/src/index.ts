/**
 * A capability of a team's own, outside ADOS: `example.word-count` counts the words of `input.text` and names the
 * most frequent ones. Served by `ados worker --capability-module examples/plugin/src/index.ts`.
 */
import { defineCapability, invalidInput, z } from 'ados/capability';

/** The `top` most frequent words of `text` (lowercased; ties in order of first use) and the totals. */
export function countWords(text: string, top: number): { words: number; distinct: number; top: Array<{ word: string; count: number }> } {
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  const counts = new Map<string, number>();
  for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { words: words.length, distinct: counts.size, top: ranked.map(([word, count]) => ({ word, count })) };
}

export default defineCapability({
  name: 'example.word-count',
  version: '1.0.0',
  description: 'Counts the words of input.text and names the most frequent ones',
  input: z.object({
    text: z.string().min(1, 'give the text to count'),
    top: z.number().int().min(1).max(50).default(3),
  }),
  output: z.object({
    words: z.number().int(),
    distinct: z.number().int(),
    top: z.array(z.object({ word: z.string(), count: z.number().int() })),
  }),
  defaults: { startToCloseTimeoutSeconds: 30, heartbeatTimeoutSeconds: 10, retry: { maximumAttempts: 2 } },
  handler: async ({ text, top }, ctx) => {
    const counted = countWords(text, top);
    if (counted.words === 0) throw invalidInput('example.word-count', ctx.request.taskId, 'input.text holds no words');
    ctx.logger.info({ words: counted.words }, 'words counted');
    ctx.reportCost(counted.words, 'words');
    return counted;
  },
});
