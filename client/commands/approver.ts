import type { Command } from 'commander';
import { z } from 'zod';
import { InputValidationError } from '../../shared/contract/validation';
import { loadConfig } from '../../shared/node/config';
import { createApproverKey, listApproverKeys, revokeApproverKey } from '../approvers';
import { openCliDatabase } from '../common/database';
import { emit } from '../output';

const tenantFlag = z.string().regex(/^[a-z0-9_]+$/, 'lowercase letters, digits and "_", as in the plan\'s tenantId');
const approverFlag = z.string().min(1, 'say whose key (--as <user>)').max(200, 'at most 200 characters');
const keyIdFlag = z.string().regex(/^[0-9a-f]{16}$/, 'a key id: 16 hex digits, as `ados approver list` shows');

function flag<T>(schema: z.ZodType<T>, name: string, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InputValidationError('flags', [{ path: name, message: parsed.error.issues[0].message }]);
  return parsed.data;
}

async function withDatabase<T>(why: string, fn: (db: Awaited<ReturnType<typeof openCliDatabase>>) => Promise<T>): Promise<T> {
  const database = await openCliDatabase(loadConfig(), why);
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** `ados approver keygen|list|revoke`: the approvers' Ed25519 keys that signed approvals are checked against. */
export function registerApproverCommands(program: Command): void {
  const approver = program.command('approver').description("approvers' signing keys (Ed25519): make, list, revoke");

  approver
    .command('keygen')
    .description('make a key pair: the private key goes to a local file (0600), the public key is registered for the approver in the tenant')
    .requiredOption('--tenant <tenant>', 'the tenant whose gates will count the key')
    .requiredOption('--as <user>', 'the approver')
    .option('--key-file <file>', 'where to write the private key (default ~/.config/ados/keys/<tenant>/<user>.pem)')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; as: string; keyFile?: string; json?: boolean }) => {
      const tenant = flag(tenantFlag, '--tenant', opts.tenant);
      const who = flag(approverFlag, '--as', opts.as);
      const created = await withDatabase('ados approver keygen', (db) => createApproverKey(db, tenant, who, opts.keyFile));
      emit(!!opts.json, created, () => `key ${created.keyId} registered for ${who} in ${tenant}; private key: ${created.keyFile} (ados approve signs with it)`);
    });

  approver
    .command('list')
    .description("a tenant's approver keys, revoked ones marked")
    .requiredOption('--tenant <tenant>', 'the tenant')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      const tenant = flag(tenantFlag, '--tenant', opts.tenant);
      const keys = await withDatabase('ados approver list', (db) => listApproverKeys(db, tenant));
      emit(!!opts.json, keys, () =>
        keys.length === 0
          ? `no approver keys in ${tenant} (ados approver keygen --tenant ${tenant} --as <user>)`
          : keys.map((k) => `${k.approver.padEnd(16)} ${k.keyId}  added ${k.addedAt}${k.revokedAt ? `  REVOKED ${k.revokedAt}` : ''}`).join('\n'),
      );
    });

  approver
    .command('revoke')
    .description('revoke a key: gates stop counting its signatures (rotate: keygen a new key first)')
    .requiredOption('--tenant <tenant>', 'the tenant')
    .requiredOption('--as <user>', 'the approver')
    .requiredOption('--key <keyId>', 'the key id (ados approver list)')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; as: string; key: string; json?: boolean }) => {
      const tenant = flag(tenantFlag, '--tenant', opts.tenant);
      const who = flag(approverFlag, '--as', opts.as);
      const keyId = flag(keyIdFlag, '--key', opts.key);
      const revoked = await withDatabase('ados approver revoke', (db) => revokeApproverKey(db, tenant, who, keyId));
      if (!revoked) throw new InputValidationError('flags', [{ path: '--key', message: `no active key ${keyId} for ${who} in ${tenant} (ados approver list --tenant ${tenant})` }]);
      emit(!!opts.json, { tenant, approver: who, keyId, revoked: true }, () => `key ${keyId} of ${who} in ${tenant} revoked`);
    });
}
