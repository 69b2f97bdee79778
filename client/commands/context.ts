import { type AdosClient, connectClient } from '../connection';
import { loadConfig } from '../../shared/node/config';

/** Each command opens the client it needs and closes it, so `--help` never connects. */
export async function withClient<T>(fn: (ados: AdosClient) => Promise<T>): Promise<T> {
  const ados = await connectClient(loadConfig());
  try {
    return await fn(ados);
  } finally {
    await ados.close();
  }
}
