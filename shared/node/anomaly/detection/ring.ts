/** A fixed-capacity window of numbers, oldest first; pushing into a full ring drops the oldest. */
export class Ring {
  private readonly data: number[];
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    values: readonly number[] = [],
  ) {
    this.data = new Array<number>(capacity).fill(0);
    for (const value of values.slice(-capacity)) this.push(value);
  }

  get size(): number {
    return this.count;
  }

  /** Appends `value`; returns the value it pushed out, if the ring was full. */
  push(value: number): number | undefined {
    if (this.count < this.capacity) {
      this.data[(this.head + this.count) % this.capacity] = value;
      this.count += 1;
      return undefined;
    }
    const evicted = this.data[this.head];
    this.data[this.head] = value;
    this.head = (this.head + 1) % this.capacity;
    return evicted;
  }

  /** The i-th value, oldest first. */
  at(index: number): number {
    return this.data[(this.head + index) % this.capacity];
  }

  /** The value `back` places before the newest (0: the newest). */
  fromEnd(back: number): number {
    return this.at(this.count - 1 - back);
  }

  toArray(): number[] {
    const out = new Array<number>(this.count);
    for (let i = 0; i < this.count; i += 1) out[i] = this.at(i);
    return out;
  }
}
