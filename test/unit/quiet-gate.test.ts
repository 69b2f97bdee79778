/**
 * The burst gate (shared/node/quiet-gate.ts) the extract worker uses: work with slack waits until no arrival came for
 * `quietMs`, never longer than its own maximum, and not at all when the worker is quiet already.
 */
import { quietGate } from '../../shared/node/quiet-gate';

/** When `promise` settles, in fake milliseconds since `t0`; advances the fake clock 1 ms at a time up to `limit`. */
async function settlesAfter(promise: Promise<void>, t0: number, limit = 1_000, onTick?: (elapsed: number) => void): Promise<number> {
  let settled = false;
  void promise.then(() => {
    settled = true;
  });
  await Promise.resolve();
  for (let elapsed = 0; elapsed <= limit; elapsed++) {
    if (settled) return Date.now() - t0;
    onTick?.(elapsed);
    await jest.advanceTimersByTimeAsync(1);
  }
  throw new Error(`did not settle within ${limit} ms`);
}

describe('quietGate', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  test('with no arrival for quietMs already, it lets work through at once', async () => {
    const gate = quietGate(10);
    const t0 = Date.now();
    expect(await settlesAfter(gate.quiet(50), t0)).toBe(0);
    gate.arrived();
    await jest.advanceTimersByTimeAsync(10);
    expect(await settlesAfter(gate.quiet(50), Date.now())).toBe(0);
  });

  test('it waits until quietMs after the last arrival, and each new arrival pushes that back', async () => {
    const gate = quietGate(10);
    const t0 = Date.now();
    gate.arrived();
    // Arrivals at 4 and 9 ms: quiet from 19 ms on.
    const at = await settlesAfter(gate.quiet(50), t0, 1_000, (elapsed) => {
      if (elapsed === 4 || elapsed === 9) gate.arrived();
    });
    expect(at).toBe(19);
  });

  test('a steady stream of arrivals never holds work past its maximum wait', async () => {
    const gate = quietGate(10);
    const t0 = Date.now();
    gate.arrived();
    const at = await settlesAfter(gate.quiet(30), t0, 1_000, (elapsed) => {
      if (elapsed % 5 === 0) gate.arrived();
    });
    expect(at).toBe(30);
  });

  test('several waiters of one burst all go once it has passed', async () => {
    const gate = quietGate(10);
    const t0 = Date.now();
    gate.arrived();
    const first = gate.quiet(50);
    await jest.advanceTimersByTimeAsync(3);
    gate.arrived();
    const second = gate.quiet(50);
    let firstAt: number | undefined;
    void first.then(() => {
      firstAt = Date.now() - t0;
    });
    expect(await settlesAfter(second, t0)).toBe(13);
    expect(firstAt).toBe(13);
  });

  test('a negative or non-numeric quiet period is refused, naming the value', () => {
    expect(() => quietGate(-1)).toThrow('quietMs must be a number of at least 0 (got -1)');
    expect(() => quietGate(Number.NaN)).toThrow('got NaN');
  });
});
