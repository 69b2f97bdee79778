/**
 * The one home of how ADOS connects to Temporal: the address and namespace from loadConfig(), TLS, mTLS and the API
 * key from loadTemporalSecurityConfig(). The CLI's Connection and the workers' NativeConnection take the same options.
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { type AdosConfig, ConfigError, loadTemporalSecurityConfig, type TemporalSecurityConfig } from './config';

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

/** A PEM file named by a variable; an unreadable one is a configuration error naming the variable. */
function readPem(variable: string, file: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (error) {
    throw new ConfigError([`${variable}=${JSON.stringify(file)}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): point it at a readable PEM file`]);
  }
  if (!content.toString('utf8').includes('-----BEGIN ')) {
    throw new ConfigError([`${variable}=${JSON.stringify(file)}: not a PEM file (no "-----BEGIN" line): point it at the PEM-encoded file`]);
  }
  return content;
}

/** Connection options for `Connection.connect` and `NativeConnection.connect`; PEM files are read here, once. */
export function temporalConnectionOptions(
  config: Pick<AdosConfig, 'temporalAddress'>,
  security: TemporalSecurityConfig = loadTemporalSecurityConfig(),
): TemporalConnectionOptions {
  if (!security.tls) return { address: config.temporalAddress };
  const tls: TLSConfig = {};
  if (security.serverName) tls.serverNameOverride = security.serverName;
  if (security.caPath) tls.serverRootCACertificate = readPem('TEMPORAL_TLS_CA', security.caPath);
  if (security.clientCertPath && security.clientKeyPath) {
    tls.clientCertPair = { crt: readPem('TEMPORAL_TLS_CERT', security.clientCertPath), key: readPem('TEMPORAL_TLS_KEY', security.clientKeyPath) };
  }
  return { address: config.temporalAddress, tls, ...(security.apiKey ? { apiKey: security.apiKey } : {}) };
}

/** What a connection uses, for logs and `ados cluster status` (never the key itself). */
export function describeTemporalSecurity(security: TemporalSecurityConfig): string {
  if (!security.tls) return 'plaintext';
  const parts = [security.clientCertPath ? 'mTLS' : 'TLS'];
  if (security.caPath) parts.push(`CA ${security.caPath}`);
  if (security.serverName) parts.push(`server name ${security.serverName}`);
  if (security.apiKey) parts.push('API key');
  return parts.join(', ');
}
