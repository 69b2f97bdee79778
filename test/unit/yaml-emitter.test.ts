/**
 * The manifests' YAML writer: whatever it writes, YAML 1.2 and YAML 1.1 readers (Kubernetes reads 1.1-style) read
 * back as the same data, and it writes the same bytes for the same data.
 */
import { parse, parseAllDocuments } from 'yaml';
import { generateArtifacts } from '../../shared/node/extraction/generators';
import { GENERATOR_VERSIONS } from '../../shared/node/extraction/generators/version';
import { toYaml, yamlString, type YamlValue } from '../../shared/node/extraction/generators/yaml-emitter';
import { validateSchemaSet } from '../../shared/contract/extraction/validate';
import { seedDocuments } from '../helpers/extraction';

const readBoth = (text: string) => ({ v12: parse(text, { version: '1.2' }) as unknown, v11: parse(text, { version: '1.1' }) as unknown });

/** Strings a careless writer gets wrong: YAML 1.1 booleans, numbers in all spellings, indicators, escapes. */
const TRICKY = [
  '', ' ', 'plain words', 'trailing ', ' leading', 'yes', 'No', 'ON', 'off', 'y', 'n', 'true', 'False', 'null', 'Null', '~',
  '0', '12', '-1', '+1', '1.5', '.5', '1e3', '1E-3', '1_000', '0x1F', '0o17', '0b101', '0755', '6.1.0', '1:20', '190:20:30', '1:integrations@15m',
  '2026-11-22', '2026-11-22T10:00:00Z', '100m', '128Mi', '.inf', '-.Inf', '.NaN',
  'a: b', 'a:b', 'a:', ':a', 'a #b', 'a#b', '#a', '- a', '-a', '? a', '[a]', '{a}', 'a, b', '*ref', '&anchor', '!tag', '|', '>', '%x', '@at', '`tick`',
  "it's", 'say "hi"', 'back\\slash', 'tab\there', 'line\nbreak', 'cr\rhere', 'nel\u0085x', 'ls\u2028x', 'bom\ufeffx', 'del\u007fx', 'é ü ✓', 'emoji 🙂',
  'http://example.com/a?b=c&d=e', 'ados/agent:6.1.0', 'key=value', 'a/b', '<<',
];

describe('yamlString', () => {
  test.each(TRICKY.map((s) => [JSON.stringify(s), s]))('%s reads back as itself in YAML 1.2 and 1.1', (_label, text) => {
    const written = toYaml({ value: text, [text || 'empty']: 'as key' });
    const { v12, v11 } = readBoth(written);
    expect(v12).toEqual({ value: text, [text || 'empty']: 'as key' });
    expect(v11).toEqual(v12);
  });

  test('ordinary words stay plain; words other readers take as something else are quoted', () => {
    expect(yamlString('PlastOS Adapter')).toBe('PlastOS Adapter');
    expect(yamlString('ados/plastos-adapter:6.1.0')).toBe('ados/plastos-adapter:6.1.0');
    expect(yamlString('500m')).toBe('500m');
    expect(yamlString('yes')).toBe('"yes"');
    expect(yamlString('6.1.0')).toBe('"6.1.0"');
    expect(yamlString('1:20')).toBe('"1:20"');
    expect(yamlString('a: b')).toBe('"a: b"');
    expect(yamlString('ls\u2028x')).toBe('"ls\\u2028x"');
  });
});

describe('toYaml', () => {
  const sample: { [key: string]: YamlValue } = {
    apiVersion: 'apps/v1',
    count: 3,
    ratio: 0.25,
    enabled: false,
    nothing: null,
    skipped: undefined,
    emptyMap: {},
    emptyList: [],
    list: ['a', 1, true, null, undefined, [], {}, ['nested', 'list'], { name: 'x', ports: [{ port: 80 }, { port: 443 }] }],
    map: { inner: { deeper: 'yes' } },
  };

  test('maps keep their key order, lists hold any value, undefined keys are left out', () => {
    const text = toYaml(sample);
    const { v12, v11 } = readBoth(text);
    expect(v12).toEqual(JSON.parse(JSON.stringify(sample)));
    expect(v11).toEqual(v12);
    expect(Object.keys(v12 as object)).toEqual(['apiVersion', 'count', 'ratio', 'enabled', 'nothing', 'emptyMap', 'emptyList', 'list', 'map']);
  });

  test('lists of maps are written as kubectl writes them', () => {
    expect(toYaml({ ports: [{ name: 'http', port: 80 }] })).toBe('ports:\n  - name: http\n    port: 80\n');
  });

  test('the same data gives the same bytes, and what it wrote writes itself again', () => {
    const text = toYaml(sample);
    expect(toYaml(JSON.parse(JSON.stringify(sample)))).toBe(text);
    expect(toYaml(parse(text) as { [key: string]: YamlValue })).toBe(text);
  });

  test('a number YAML cannot spell here is refused, naming its path', () => {
    expect(() => toYaml({ spec: { replicas: Number.NaN } })).toThrow('spec.replicas: NaN has no YAML spelling here; give a finite number');
    expect(() => toYaml({ list: [1, Infinity] })).toThrow('list[1]: Infinity');
  });

  test('every seed agent manifest reads the same in YAML 1.2 and 1.1 and is written back byte for byte', () => {
    const report = validateSchemaSet(seedDocuments(), {});
    for (const analyzed of report.schemas) {
      const manifest = generateArtifacts(analyzed.schema!, 'f'.repeat(64), {}, GENERATOR_VERSIONS).find((a) => a.kind === 'manifest')!.content;
      const docs12 = parseAllDocuments(manifest, { version: '1.2' }).map((d) => d.toJS() as { [key: string]: YamlValue });
      const docs11 = parseAllDocuments(manifest, { version: '1.1' }).map((d) => d.toJS() as unknown);
      expect(docs11).toEqual(docs12);
      expect(docs12.map((d) => d.kind)).toEqual(['Deployment', 'Service']);
      const body = manifest.slice(manifest.indexOf('\n') + 1);
      expect(docs12.map((d) => toYaml(d)).join('---\n')).toBe(body);
    }
  });
});
