import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { durationToMs } from '../../../contract/duration';
import { type Rule, type RuleSet, ruleSetSchema } from '../../../contract/anomaly/detection';
import { jsonPath } from '../../../contract/validation';

/** One problem in a rules file: the line it is on (1-based), the field, and what to write instead. */
export interface RuleIssue {
  line: number;
  path: string;
  message: string;
}

/** A rules file that does not parse or does not validate; carries every issue. */
export class RuleParseError extends Error {
  constructor(readonly issues: RuleIssue[]) {
    super(`invalid rules:\n${issues.map((i) => `  line ${i.line}: ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'RuleParseError';
  }
}

/** The line of the deepest node along `path` that exists in the document (the field itself when it is there). */
function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node = doc.getIn(path.slice(0, depth) as Array<string | number>, true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return 1;
}

/**
 * Reads a metric's rules file (YAML: `rules: [{ name, type, … }]`, see ruleSetSchema), with every default filled in.
 * Throws RuleParseError naming the line and the field of each problem.
 */
export function parseRules(yamlText: string): RuleSet {
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new RuleParseError(
      doc.errors.map((error) => ({ line: error.linePos?.[0].line ?? 1, path: '(yaml)', message: `${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}: fix the YAML syntax` })),
    );
  }
  const parsed = ruleSetSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    throw new RuleParseError(parsed.error.issues.map((issue) => ({ line: lineOf(doc, lines, issue.path), path: jsonPath(issue.path), message: issue.message })));
  }
  return parsed.data;
}

export const ruleEngineStateSchema = z
  .object({
    lastTs: z.number().optional(),
    lastValue: z.number().optional(),
    /** Consecutive samples past each threshold rule's bound. */
    runs: z.record(z.string(), z.number().int().min(0)),
    /** Where each flatline rule's current flat stretch began, and the value it stays near. */
    flats: z.record(z.string(), z.object({ since: z.number(), value: z.number() }).strict()),
  })
  .strict();
export type RuleEngineState = z.output<typeof ruleEngineStateSchema>;

/** Evaluates a metric's rules on each sample in time order; which rules fire on it. */
export class RuleEngine {
  private readonly state: RuleEngineState;

  constructor(
    private readonly rules: readonly Rule[],
    state?: RuleEngineState,
  ) {
    this.state = state ? structuredClone(state) : { runs: {}, flats: {} };
  }

  /** The names of the rules that fire on this sample. */
  push(ts: number, value: number): string[] {
    const fired: string[] = [];
    const { lastTs, lastValue } = this.state;
    for (const rule of this.rules) {
      if (this.fires(rule, ts, value, lastTs, lastValue)) fired.push(rule.name);
    }
    this.state.lastTs = ts;
    this.state.lastValue = value;
    return fired;
  }

  private fires(rule: Rule, ts: number, value: number, lastTs: number | undefined, lastValue: number | undefined): boolean {
    switch (rule.type) {
      case 'threshold': {
        const past = (rule.above !== undefined && value > rule.above) || (rule.below !== undefined && value < rule.below);
        const run = past ? (this.state.runs[rule.name] ?? 0) + 1 : 0;
        this.state.runs[rule.name] = run;
        return run >= rule.for;
      }
      case 'rate-of-change': {
        if (lastTs === undefined || lastValue === undefined || ts <= lastTs) return false;
        return (Math.abs(value - lastValue) / (ts - lastTs)) * durationToMs(rule.per) > rule.maxChange;
      }
      case 'flatline': {
        const flat = this.state.flats[rule.name];
        if (!flat || Math.abs(value - flat.value) > rule.tolerance) {
          this.state.flats[rule.name] = { since: ts, value };
          return false;
        }
        return ts - flat.since >= durationToMs(rule.for);
      }
      case 'missing-data':
        return lastTs !== undefined && ts - lastTs > durationToMs(rule.after);
    }
  }

  snapshot(): RuleEngineState {
    return structuredClone(this.state);
  }
}
