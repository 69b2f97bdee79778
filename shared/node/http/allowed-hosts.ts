/**
 * Which hosts outbound HTTP may reach (ADOS_HTTP_ALLOWED_HOSTS): a comma-separated list of entries, each an IP
 * address, a CIDR range (`10.0.0.0/8`, `fd00::/8`), a host name (`api.internal`), a wildcard of its subdomains
 * (`*.example.com`, which does not match `example.com` itself) or `*` (anything). Names are matched as written in the
 * URL, not resolved: list names you trust to resolve where you expect.
 */
import { BlockList, isIP } from 'node:net';

export const DEFAULT_HTTP_ALLOWED_HOSTS = '127.0.0.0/8,::1,localhost';

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The entries of a list, or what is wrong with each bad one. */
export function parseAllowedHosts(list: string): { entries: string[]; problems: string[] } {
  const entries: string[] = [];
  const problems: string[] = [];
  for (const raw of list.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    const problem = entryProblem(entry);
    if (problem) problems.push(`"${raw.trim()}": ${problem}`);
    else entries.push(entry);
  }
  if (entries.length === 0 && problems.length === 0) problems.push('list at least one host, e.g. 127.0.0.0/8,::1,localhost');
  return { entries, problems };
}

function entryProblem(entry: string): string | undefined {
  if (entry === '*' || isIP(entry) !== 0) return undefined;
  if (entry.includes('://')) return 'give the host alone, not a URL';
  const cidr = /^([^/]+)\/(\d{1,3})$/.exec(entry);
  if (cidr) {
    const family = isIP(cidr[1]);
    if (family === 0) return 'the part before "/" is not an IP address';
    const max = family === 4 ? 32 : 128;
    return Number(cidr[2]) <= max ? undefined : `the prefix length must be 0 to ${max}`;
  }
  const name = entry.startsWith('*.') ? entry.slice(2) : entry;
  return HOST_NAME.test(name) ? undefined : 'not an IP address, a CIDR range, a host name, *.domain or *';
}

/** A matcher over parsed entries (parseAllowedHosts). */
export class HostAllowlist {
  private readonly addresses = new BlockList();
  private readonly names = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly any: boolean;

  constructor(readonly entries: readonly string[]) {
    this.any = entries.includes('*');
    for (const entry of entries) {
      const [address, prefix] = entry.split('/');
      const family = isIP(address);
      if (family !== 0) {
        const type = family === 4 ? 'ipv4' : 'ipv6';
        if (prefix === undefined) this.addresses.addAddress(address, type);
        else this.addresses.addSubnet(address, Number(prefix), type);
      } else if (entry.startsWith('*.')) this.suffixes.push(entry.slice(1));
      else this.names.add(entry);
    }
  }

  /** Whether a URL's host may be called. `hostname` as URL parses it (IPv6 in brackets is accepted). */
  allows(hostname: string): boolean {
    if (this.any) return true;
    const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
    const family = isIP(host);
    if (family !== 0) return this.addresses.check(host, family === 4 ? 'ipv4' : 'ipv6');
    return this.names.has(host) || this.suffixes.some((suffix) => host.endsWith(suffix));
  }
}

/**
 * Why the host of `url` may not be called under `allowedHosts` (ADOS_HTTP_ALLOWED_HOSTS), naming the setting and
 * where to change it (`worker`, e.g. "the control worker"); undefined when it may. One message for every outbound
 * call that honours the list (scrapes, anomaly notifications), so an operator reads the same fix wherever it refuses.
 */
export function hostRefusal(url: string | URL, allowedHosts: readonly string[], worker: string): string | undefined {
  const host = new URL(url).hostname;
  if (new HostAllowlist(allowedHosts).allows(host)) return undefined;
  return `host ${host} is not allowed by ADOS_HTTP_ALLOWED_HOSTS (${allowedHosts.join(',')}); add it to that setting of ${worker}`;
}
