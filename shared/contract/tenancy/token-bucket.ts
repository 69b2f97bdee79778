/**
 * A token bucket (README, "Tenant gate"): up to `burst` starts at once, then `perMinute` on average. Pure and
 * clock-free: the caller passes the time (the tenant gate passes workflow time), so that a replay computes the same
 * tokens. The state is plain JSON and survives continue-as-new.
 */

export interface TokenBucketLimit {
  /** Tokens added per minute (the sustained rate). */
  perMinute: number;
  /** The most tokens the bucket holds (the largest burst). */
  burst: number;
}

export interface TokenBucketState {
  tokens: number;
  /** When `tokens` was computed, in ms since the epoch. */
  atMs: number;
}

/** A full bucket at `nowMs`. */
export function fullBucket(limit: TokenBucketLimit, nowMs: number): TokenBucketState {
  return { tokens: limit.burst, atMs: nowMs };
}

/** The bucket at `nowMs`: refilled at the limit's rate since it was last computed, never above the burst. */
export function refill(state: TokenBucketState, limit: TokenBucketLimit, nowMs: number): TokenBucketState {
  const elapsed = Math.max(0, nowMs - state.atMs);
  return { tokens: Math.min(limit.burst, state.tokens + (elapsed * limit.perMinute) / 60_000), atMs: Math.max(nowMs, state.atMs) };
}

/** How long until the bucket holds one whole token (0: it does now). */
export function msUntilToken(state: TokenBucketState, limit: TokenBucketLimit, nowMs: number): number {
  const current = refill(state, limit, nowMs);
  if (current.tokens >= 1) return 0;
  return Math.ceil(((1 - current.tokens) * 60_000) / limit.perMinute);
}

/** How long until the bucket is full again (0: it is). */
export function msUntilFull(state: TokenBucketState, limit: TokenBucketLimit, nowMs: number): number {
  const current = refill(state, limit, nowMs);
  return current.tokens >= limit.burst ? 0 : Math.ceil(((limit.burst - current.tokens) * 60_000) / limit.perMinute);
}

/** Takes one token at `nowMs`: the bucket after, or undefined when it holds less than one. */
export function takeToken(state: TokenBucketState, limit: TokenBucketLimit, nowMs: number): TokenBucketState | undefined {
  const current = refill(state, limit, nowMs);
  return current.tokens >= 1 ? { tokens: current.tokens - 1, atMs: current.atMs } : undefined;
}
