/** NAB-format CSV lines: parsed one by one, and a file's bad lines reported by their line numbers (no database). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadNabDataDir } from '../../shared/node/config';
import { InputValidationError } from '../../shared/contract/validation';
import { parseSampleLine, sampleLines } from '../../shared/node/anomaly/samples';

const NAB_FILE = path.join(loadNabDataDir(), 'data', 'artificialWithAnomaly', 'art_daily_jumpsup.csv');

describe('parseSampleLine', () => {
  test("NAB's lines (no zone: UTC), ISO with a zone, quoted cells", () => {
    expect(parseSampleLine('2014-04-01 00:00:00,18.324918539200002')).toEqual({ sample: { ts: Date.parse('2014-04-01T00:00:00Z'), value: 18.324918539200002 } });
    expect(parseSampleLine('2014-04-01T02:00:00+02:00,-3')).toEqual({ sample: { ts: Date.parse('2014-04-01T00:00:00Z'), value: -3 } });
    expect(parseSampleLine('"2014-04-01 00:05",  "1e3" ')).toEqual({ sample: { ts: Date.parse('2014-04-01T00:05:00Z'), value: 1000 } });
    expect(parseSampleLine('timestamp,value')).toEqual({ header: true });
  });

  test('a bad line says which column is wrong and how to write it', () => {
    expect(parseSampleLine('2014-04-01 00:00:00')).toEqual({ problem: 'expected 2 columns "timestamp,value", got 1' });
    expect(parseSampleLine('2014-04-01 00:00:00,1,2')).toEqual({ problem: 'expected 2 columns "timestamp,value", got 3' });
    expect(parseSampleLine('yesterday,1')).toEqual({ problem: 'timestamp: "yesterday" is not a time like 2014-02-14 14:30:00 (UTC unless a zone is given)' });
    expect(parseSampleLine('2014-13-01 00:00:00,1')).toMatchObject({ problem: expect.stringContaining('timestamp: "2014-13-01 00:00:00"') });
    expect(parseSampleLine('2014-04-01 00:00:00,')).toEqual({ problem: 'value: empty (give a number, e.g. 42.5)' });
    expect(parseSampleLine('2014-04-01 00:00:00,NaN')).toEqual({ problem: 'value: "NaN" is not a finite number (e.g. 42.5)' });
    expect(parseSampleLine('2014-04-01 00:00:00,12abc')).toEqual({ problem: 'value: "12abc" is not a finite number (e.g. 42.5)' });
  });
});

describe('sampleLines', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-csv-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('bad lines come with their line numbers (blank lines counted, skipped); the good ones parse', async () => {
    const file = path.join(dir, 'mixed.csv');
    fs.writeFileSync(file, ['timestamp,value', '2014-04-01 00:00:00,1', '', 'nope,2', '2014-04-01 00:10:00,x', '2014-04-01 00:15:00,4', 'timestamp,value', '2014-04-01 00:20:00,5\r'].join('\n'));
    const lines = [];
    for await (const line of sampleLines(file)) lines.push(line);
    expect(lines.filter((l) => 'problem' in l.parsed).map((l) => l.line)).toEqual([4, 5, 7]);
    expect(lines.filter((l) => 'sample' in l.parsed).map((l) => l.line)).toEqual([2, 6, 8]);
    expect(lines.find((l) => l.line === 7)?.parsed).toEqual({ problem: 'a header line "timestamp,value" after the first line (remove it)' });
  });

  test('a NAB file of the shared set parses whole, every timestamp after the one before', async () => {
    let count = 0;
    let previous = -Infinity;
    for await (const { parsed } of sampleLines(NAB_FILE)) {
      if (!('sample' in parsed)) throw new Error(`bad line in ${NAB_FILE}: ${JSON.stringify(parsed)}`);
      expect(parsed.sample.ts).toBeGreaterThan(previous);
      previous = parsed.sample.ts;
      count += 1;
    }
    expect(count).toBe(fs.readFileSync(NAB_FILE, 'utf8').trim().split('\n').length - 1);
  });

  test('a file that cannot be read is a usage error naming it', async () => {
    const reading = (async () => {
      for await (const line of sampleLines(path.join(dir, 'missing.csv'))) void line;
    })();
    await expect(reading).rejects.toThrow(InputValidationError);
    await expect(reading).rejects.toThrow(/cannot read: ENOENT/);
  });
});
