import { Client, Connection } from '@temporalio/client';
import type { AdosConfig } from '../shared/node/config';
import { temporalConnectionOptions } from '../shared/node/temporal-connection';

export interface AdosClient {
  client: Client;
  config: AdosConfig;
  close(): Promise<void>;
}

/**
 * Connects to Temporal (TLS, mTLS and API key by configuration: shared/node/temporal-connection.ts); a server that
 * does not answer is reported with the address tried, a half-made TLS setup before any attempt.
 */
export async function connectClient(config: AdosConfig): Promise<AdosClient> {
  const options = temporalConnectionOptions(config);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: '5s' });
  } catch (error) {
    throw new TemporalUnreachableError(config.temporalAddress, error);
  }
  return {
    client: new Client({ connection, namespace: config.temporalNamespace }),
    config,
    close: () => connection.close(),
  };
}

export class TemporalUnreachableError extends Error {
  constructor(address: string, cause: unknown) {
    super(
      `Temporal unreachable: cannot reach Temporal at ${address} (${(cause as Error)?.message ?? cause}); start the stack with \`npm start\` or set TEMPORAL_ADDRESS`,
    );
    this.name = 'TemporalUnreachableError';
  }
}
