/**
 * Helpers for recording what an untrusted message carried (a signal payload that failed its schema) without trusting
 * it: the audit keeps a short, printable form, never a 100 kB string or an object graph.
 */
const MAX_RECORDED_TEXT = 200;

/** A field of a refused payload as short text: strings cut to 200 characters, anything else described by type. */
export function recordedText(value: unknown): string {
  if (typeof value === 'string') return value.length > MAX_RECORDED_TEXT ? `${value.slice(0, MAX_RECORDED_TEXT)}… (${value.length} characters)` : value;
  if (value === undefined) return '';
  if (value === null) return '(null)';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `(${Array.isArray(value) ? 'array' : typeof value})`;
}

/** One field of a payload that may not even be an object. */
export function fieldOf(payload: unknown, key: string): unknown {
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>)[key] : undefined;
}
