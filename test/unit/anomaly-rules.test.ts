/** A metric's YAML rules: parsing with defaults, errors that name the line and the field, and each rule type's firing. */
import { RuleParseError, parseRules } from '../../shared/node/anomaly/detection';
import { RuleEngine } from '../../shared/node/anomaly/detection/rules';

const MIN = 60_000;

const good = `rules:
  - name: cpu-high
    type: threshold
    above: 90
    for: 3
  - name: surge
    type: rate-of-change
    maxChange: 10
    per: 5m
  - name: stuck
    type: flatline
    for: 15m
  - name: silent
    type: missing-data
    after: 10m
`;

/** The issues of a file that must not parse. */
function issuesOf(text: string) {
  try {
    parseRules(text);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleParseError);
    return (error as RuleParseError).issues;
  }
  throw new Error('parsed, but it should not');
}

test('a rules file parses with its defaults filled in', () => {
  const { rules } = parseRules(good);
  expect(rules.map((r) => r.type)).toEqual(['threshold', 'rate-of-change', 'flatline', 'missing-data']);
  expect(rules[2]).toEqual({ name: 'stuck', type: 'flatline', for: '15m', tolerance: 0 });
  expect(parseRules('rules:\n  - { name: low, type: threshold, below: 1 }\n').rules[0]).toEqual({ name: 'low', type: 'threshold', below: 1, for: 1 });
  expect(parseRules('')).toEqual({ rules: [] });
});

test('a wrong field is reported at its line, with its path and the fix', () => {
  expect(issuesOf(good.replace('above: 90', 'above: ninety'))).toEqual([{ line: 4, path: 'rules[0].above', message: 'must be a number' }]);
  expect(issuesOf(good.replace('per: 5m', 'per: 5 minutes'))).toEqual([
    { line: 9, path: 'rules[1].per', message: 'must be a whole number and a unit (ms, s, m, h, d), e.g. "72h"' },
  ]);
  const unknownType = issuesOf(good.replace('type: flatline', 'type: flat'));
  expect(unknownType[0]).toMatchObject({ line: 11, path: 'rules[2].type' });
  expect(unknownType[0].message).toContain('threshold, rate-of-change, flatline, missing-data');
});

test('a threshold rule without a bound, an unknown key, a repeated name: each at its line', () => {
  expect(issuesOf('rules:\n  - name: a\n    type: threshold\n')[0]).toEqual({ line: 2, path: 'rules[0].above', message: 'needs "above" or "below" (or both), e.g. above: 90' });
  const unknown = issuesOf('rules:\n  - name: a\n    type: missing-data\n    after: 5m\n    afterr: 6m\n');
  expect(unknown[0].line).toBe(2);
  expect(unknown[0].message).toMatch(/afterr/);
  expect(issuesOf('rules:\n  - { name: a, type: missing-data, after: 5m }\n  - { name: a, type: missing-data, after: 6m }\n')).toEqual([
    { line: 3, path: 'rules[1].name', message: '"a" is used by an earlier rule: give each rule its own name' },
  ]);
});

test('broken YAML is reported at its line', () => {
  const issues = issuesOf('rules:\n  - name: a\n   type: [\n');
  expect(issues[0].line).toBe(3);
  expect(issues[0].path).toBe('(yaml)');
  expect(issues[0].message).toMatch(/fix the YAML syntax/);
  expect(() => parseRules('rules: 5\n')).toThrow(/line 1: rules: must be a list of rules/);
});

test('threshold: fires from the `for`-th consecutive sample past the bound', () => {
  const engine = new RuleEngine(parseRules(good).rules.slice(0, 1));
  const fired = [95, 95, 95, 95, 50, 95].map((v, i) => engine.push(i * MIN, v).length > 0);
  expect(fired).toEqual([false, false, true, true, false, false]);
});

test('rate of change: a change faster than maxChange per `per` between neighbours', () => {
  const engine = new RuleEngine(parseRules(good).rules.slice(1, 2));
  // 10 per 5m is 2 per minute: +1/min no, +3/min yes, +15 over 10 minutes (7.5 per 5m) no.
  expect(engine.push(0, 100)).toEqual([]);
  expect(engine.push(MIN, 101)).toEqual([]);
  expect(engine.push(2 * MIN, 104)).toEqual(['surge']);
  expect(engine.push(12 * MIN, 119)).toEqual([]);
});

test('flatline: fires once the value has held for `for`; a change starts the stretch again', () => {
  const engine = new RuleEngine(parseRules(good).rules.slice(2, 3));
  const values = [5, 5, 5, 5, 6, 6, 6, 6];
  // One sample every 5 minutes: the stretch from t=0 reaches 15m at the 4th sample; from t=20m at t=35m.
  expect(values.map((v, i) => engine.push(i * 5 * MIN, v).length > 0)).toEqual([false, false, false, true, false, false, false, true]);
});

test('missing data: the first sample after a gap longer than `after`', () => {
  const engine = new RuleEngine(parseRules(good).rules.slice(3));
  expect([0, 5, 10, 25, 30].map((m) => engine.push(m * MIN, 1).length > 0)).toEqual([false, false, false, true, false]);
});

test('the engine\'s state round-trips through JSON and continues the same', () => {
  const rules = parseRules(good).rules;
  const whole = new RuleEngine(rules);
  const first = new RuleEngine(rules);
  const values = [95, 95, 5, 5, 5, 5, 95, 95, 95, 40, 40];
  const at = (i: number) => (i < 5 ? i : i + 3) * 5 * MIN;
  const expected = values.map((v, i) => whole.push(at(i), v));
  const before = values.slice(0, 5).map((v, i) => first.push(at(i), v));
  const restored = new RuleEngine(rules, JSON.parse(JSON.stringify(first.snapshot())));
  const after = values.slice(5).map((v, i) => restored.push(at(i + 5), v));
  expect([...before, ...after]).toEqual(expected);
  expect(expected.flat()).toEqual(expect.arrayContaining(['cpu-high', 'stuck', 'silent', 'surge']));
});
