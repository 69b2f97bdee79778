import { Client, Connection } from '@temporalio/client';
import type { AdosConfig } from '../shared/node/config';

export interface AdosClient {
  client: Client;
  config: AdosConfig;
  close(): Promise<void>;
}

/** Connects to Temporal; a server that does not answer is reported with the address tried. */
export async function connectClient(config: AdosConfig): Promise<AdosClient> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporalAddress, connectTimeout: '5s' });
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
      `cannot reach Temporal at ${address} (${(cause as Error)?.message ?? cause}); start the stack with \`npm start\` or set TEMPORAL_ADDRESS`,
    );
    this.name = 'TemporalUnreachableError';
  }
}
