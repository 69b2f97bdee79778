import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../shared/node/config';
import { prebuiltWorkflowBundle } from '../../workers/bundle';

describe('the prebuilt workflow bundle (ADOS_WORKFLOW_BUNDLE)', () => {
  it('unset: none, the worker bundles at start', () => {
    expect(loadConfig({}).workflowBundle).toBeUndefined();
    expect(prebuiltWorkflowBundle(undefined)).toBeUndefined();
  });

  it('a file: loaded by its absolute path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-bundle-'));
    const file = path.join(dir, 'workflow-bundle.js');
    fs.writeFileSync(file, '// bundle');
    try {
      const config = loadConfig({ ADOS_WORKFLOW_BUNDLE: path.relative(process.cwd(), file) });
      expect(config.workflowBundle).toBe(file);
      expect(prebuiltWorkflowBundle(config.workflowBundle)).toEqual({ codePath: file });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a path naming no file is refused with the variable and the fix', () => {
    const refuse = () => prebuiltWorkflowBundle('/nonexistent/workflow-bundle.js');
    expect(refuse).toThrow(ConfigError);
    expect(refuse).toThrow(/ADOS_WORKFLOW_BUNDLE="\/nonexistent\/workflow-bundle.js": no such file; run `npm run build:workflows`/);
  });
});

describe('the metrics endpoint configuration', () => {
  it('off by default; 0 means any free port; the host defaults to loopback', () => {
    expect(loadConfig({})).toMatchObject({ metricsPort: undefined, metricsHost: '127.0.0.1' });
    expect(loadConfig({ ADOS_METRICS_PORT: '0', ADOS_METRICS_HOST: '0.0.0.0' })).toMatchObject({ metricsPort: 0, metricsHost: '0.0.0.0' });
  });

  it('refuses a bad port or host, naming the variable', () => {
    expect(() => loadConfig({ ADOS_METRICS_PORT: '70000' })).toThrow(/ADOS_METRICS_PORT="70000": must be a TCP port \(0: any free port, logged at start\)/);
    expect(() => loadConfig({ ADOS_METRICS_HOST: 'http://x' })).toThrow(/ADOS_METRICS_HOST="http:\/\/x": must be an IP address or host name/);
  });
});
