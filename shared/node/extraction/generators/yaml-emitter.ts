/**
 * A small block-style YAML writer for the generated manifests. The manifests are plain data (maps, lists, strings,
 * numbers, booleans), so a fixed template of rules does: it is deterministic by construction (keys in insertion
 * order, one spelling per value), and about ten times cheaper than building a YAML document tree, which mattered
 * because every extraction writes one (see bench/results/extraction-dag.md).
 *
 * Strings stay plain only where every YAML 1.1 and 1.2 reader (Kubernetes reads 1.1-style) takes them as that same
 * string; anything else is double-quoted with JSON escapes, which YAML's double-quoted style accepts.
 * test/unit/yaml-emitter.test.ts parses the output back under both versions.
 */
/** `undefined` in a map leaves the key out, as JSON.stringify does; in a list it is written as null. */
export type YamlValue = string | number | boolean | null | undefined | readonly YamlValue[] | { readonly [key: string]: YamlValue };

/**
 * Characters a plain scalar may hold here: no indicator that could start a flow, an anchor, a tag or a comment; a
 * colon only inside a word (": " or a final ":" would make a key).
 */
const PLAIN = /^[A-Za-z0-9_/][A-Za-z0-9_ ./@+=,()-]*(:[A-Za-z0-9_./@+=,()-][A-Za-z0-9_ ./@+=,()-]*)*$/;
/** Words YAML 1.1 or 1.2 read as booleans or null. */
const RESERVED = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)$/;
/** Number-like or date-like text: ints, floats, 0x/0o/0b forms, YAML 1.1's base-60 numbers (1:20) and timestamps. */
const NUMERIC = /^[0-9][0-9_.eE+-]*$|^0[xXoObB]|^[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$|^\d{4}-\d\d?-\d\d?/;

function quote(text: string): string {
  // JSON escapes control characters below U+0020; YAML also treats these as breaks or non-printable.
  return JSON.stringify(text).replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function yamlString(text: string): string {
  const plain = text.length > 0 && PLAIN.test(text) && !text.endsWith(' ') && !RESERVED.test(text) && !NUMERIC.test(text);
  return plain ? text : quote(text);
}

function scalar(value: string | number | boolean | null | undefined, path: string): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path}: ${value} has no YAML spelling here; give a finite number`);
    return String(value);
  }
  return yamlString(value);
}

const isCollection = (value: YamlValue): value is readonly YamlValue[] | { readonly [key: string]: YamlValue } => typeof value === 'object' && value !== null;

function isEmpty(value: readonly YamlValue[] | { readonly [key: string]: YamlValue }): boolean {
  return Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
}

function emptyOf(value: readonly YamlValue[] | { readonly [key: string]: YamlValue }): string {
  return Array.isArray(value) ? '[]' : '{}';
}

/** Lines of a collection at `indent` spaces. A map inside a list starts on the dash's line. */
function lines(value: readonly YamlValue[] | { readonly [key: string]: YamlValue }, indent: number, path: string, out: string[]): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const itemPath = `${path}[${i}]`;
      if (!isCollection(item)) return out.push(`${pad}- ${scalar(item, itemPath)}`);
      if (isEmpty(item)) return out.push(`${pad}- ${emptyOf(item)}`);
      const nested: string[] = [];
      lines(item, indent + 2, itemPath, nested);
      // The first line moves up onto the dash: "- key: value".
      out.push(`${pad}- ${nested[0].slice(indent + 2)}`, ...nested.slice(1));
    });
    return;
  }
  for (const [key, item] of Object.entries(value as { readonly [key: string]: YamlValue })) {
    if (item === undefined) continue;
    const itemPath = path ? `${path}.${key}` : key;
    const k = yamlString(key);
    if (!isCollection(item)) out.push(`${pad}${k}: ${scalar(item, itemPath)}`);
    else if (isEmpty(item)) out.push(`${pad}${k}: ${emptyOf(item)}`);
    else {
      out.push(`${pad}${k}:`);
      // Lists under a key are indented like maps, as kubectl writes them.
      lines(item, indent + 2, itemPath, out);
    }
  }
}

/** One YAML document (no `---`), ending with a newline. */
export function toYaml(document: { readonly [key: string]: YamlValue }): string {
  const out: string[] = [];
  lines(document, 0, '', out);
  return `${out.join('\n')}\n`;
}
