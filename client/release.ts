/**
 * `ados release`: the releases of the process runtime (shared/node/runtime) on this machine: what each environment
 * serves, and rolling back. Reads and acts on the runtime's files directly: no Temporal or database needed.
 */
import { InputValidationError } from '../shared/contract/validation';
import type { AdosConfig } from '../shared/node/config';
import { type EnvironmentStatus, processRuntime, type SwitchResult } from '../shared/node/runtime';

export interface ReleaseTarget {
  tenant: string;
  environment: string;
  service?: string;
}

/** Every deployed service of the tenant's environment (or the one named), with its releases. */
export function listReleases(config: Pick<AdosConfig, 'dataDir'>, target: ReleaseTarget): EnvironmentStatus[] {
  const runtime = processRuntime(config);
  return runtime.listEnvironments(target).map((ref) => runtime.status(ref));
}

/** Rolls one service of the environment back (to `to`, a release hash prefix, or the release that served before). */
export async function rollbackRelease(config: Pick<AdosConfig, 'dataDir'>, target: ReleaseTarget & { to?: string; by: string }): Promise<SwitchResult & { service: string }> {
  const runtime = processRuntime(config);
  const services = runtime.listEnvironments(target).map((ref) => ref.service);
  const where = `${target.tenant}/${target.environment}`;
  if (services.length === 0) {
    throw new InputValidationError('ados release rollback', [{ path: target.service ? '--service' : '--environment', message: `nothing deployed to ${target.service ? `${target.tenant}/${target.service}/${target.environment}` : where} (runtime ${runtime.root})` }]);
  }
  if (services.length > 1) {
    throw new InputValidationError('ados release rollback', [{ path: '--service', message: `${where} runs ${services.join(', ')}: name one with --service` }]);
  }
  const service = services[0];
  const result = await runtime.rollback({ tenant: target.tenant, service, environment: target.environment }, { to: target.to, by: target.by });
  return { service, ...result };
}

const short = (hash: string | undefined) => (hash ? hash.slice(0, 12) : '-');

/** The text form of `ados release list`. */
export function formatReleases(environments: EnvironmentStatus[], target: ReleaseTarget): string {
  if (environments.length === 0) return `nothing deployed to ${target.tenant}/${target.service ? `${target.service}/` : ''}${target.environment}`;
  return environments
    .map((env) => {
      const head = `${env.tenant}/${env.service}/${env.environment}  ${env.url}  ${env.serving ? `serving ${short(env.current)}` : env.current ? `DOWN (current ${short(env.current)}: ${env.proxy.running ? 'its process is not running' : 'the proxy is not running'})` : 'nothing serves'}`;
      const rows = env.releases.map(
        (r) => `  ${short(r.release)}  ${r.status.padEnd(7)}  ${r.lastEvent.padEnd(11)}  ${r.at}  ${r.by}${r.pid ? `  pid ${r.pid} :${r.privatePort}` : ''}${r.reason ? `\n      ${r.reason}` : ''}`,
      );
      return [head, ...rows].join('\n');
    })
    .join('\n\n');
}
