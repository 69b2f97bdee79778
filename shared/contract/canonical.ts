/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, `undefined` members
 * dropped, arrays kept in order. The same value gives the same text wherever it is computed
 * (client, workflow, activity), so hashes of it are stable cache keys. Pure, bundle-safe.
 */
export function canonicalJson(value: unknown): string {
  return write(value, []);
}

function write(value: unknown, seen: object[]): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`canonicalJson: ${value} has no JSON form`);
      return JSON.stringify(value);
    case 'object': {
      if (seen.includes(value as object)) throw new Error('canonicalJson: the value is circular');
      const next = [...seen, value as object];
      if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : write(item, next))).join(',')}]`;
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const entries = Object.keys(value as Record<string, unknown>)
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${write((value as Record<string, unknown>)[key], next)}`);
      return `{${entries.join(',')}}`;
    }
    default:
      throw new Error(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}
