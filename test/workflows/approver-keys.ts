/** Approver keys for the approval tests: a key file in a temporary directory, its public key registered in a tenant. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { generateKeyFile, registerKey } from '../../shared/node/approvals/keys';
import type { Db } from '../../shared/node/db';

/** Makes key files under a fresh directory (removed by `cleanup`) and registers their public keys. */
export function approverKeys(prefix: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    /** A key file for an approver, registered in a tenant. */
    async keyFor(db: Db, tenantId: string, approver: string, name = `${tenantId}-${approver}`): Promise<{ file: string; keyId: string }> {
      const file = path.join(dir, `${name}.pem`);
      const { keyId, publicKey } = generateKeyFile(file);
      await registerKey(db, tenantId, approver, publicKey);
      return { file, keyId };
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** The reason a decision was refused: the Update's failure, else the error's message (undefined when it counted). */
export async function refusal(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (error === undefined) return undefined;
  if (error instanceof WorkflowUpdateFailedError) return error.cause?.message;
  return error instanceof Error ? error.message : String(error);
}
