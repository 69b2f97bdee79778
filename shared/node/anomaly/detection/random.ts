/**
 * A seeded pseudo-random generator (mulberry32) whose whole state is one 32-bit integer, so a detector's snapshot
 * carries it and a restored detector draws the same numbers it would have drawn.
 */
export class SeededRandom {
  constructor(public state: number) {}

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A whole number in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}
