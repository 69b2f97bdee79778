import type { Command } from 'commander';
import { z } from 'zod';
import { APPROVAL_SIGNATURE_MODES, APPROVER_ROLE_PATTERN, type TenantApprovals, type TenantGatePolicy } from '../../shared/contract/approval';
import { durationSchema } from '../../shared/contract/duration';
import { InputValidationError } from '../../shared/contract/validation';
import { loadConfig } from '../../shared/node/config';
import { approvalSettings, createApproverKey, listApproverKeys, revokeApproverKey, setProdPolicy, setRoleMember } from '../approvers';
import { openCliDatabase } from '../common/database';
import { emit } from '../output';

const tenantFlag = z.string().regex(/^[a-z0-9_]+$/, 'lowercase letters, digits and "_", as in the plan\'s tenantId');
const approverFlag = z.string().min(1, 'say whose key (--as <user>)').max(200, 'at most 200 characters');
const keyIdFlag = z.string().regex(/^[0-9a-f]{16}$/, 'a key id: 16 hex digits, as `ados approver list` shows');
const roleFlag = z.string().regex(APPROVER_ROLE_PATTERN, 'a role name: lowercase letters, digits and "-", starting with a letter (release-manager)');
const namesFlag = (what: string) =>
  z
    .string()
    .transform((text) => text.split(',').map((name) => name.trim()).filter((name) => name !== ''))
    .pipe(z.array(z.string().max(200, `${what}: at most 200 characters each`)));
const policyFlags = {
  '--approvers': namesFlag('approver ids'),
  '--roles': namesFlag('role names').pipe(z.array(roleFlag)),
  '--quorum': z.coerce.number().int('a whole number of at least 1').min(1, 'a whole number of at least 1'),
  '--timeout': durationSchema,
  '--signatures': z.enum(APPROVAL_SIGNATURE_MODES, { message: `${APPROVAL_SIGNATURE_MODES.join(' or ')}` }),
  '--max-age': z.union([z.literal('none').transform(() => null), durationSchema], { message: 'a duration such as "24h", or none' }),
  '--require-authors': z.enum(['on', 'off'], { message: 'on or off' }).transform((v) => v === 'on'),
};

interface PolicyOptions {
  tenant: string;
  approvers?: string;
  roles?: string;
  quorum?: string;
  timeout?: string;
  signatures?: string;
  maxAge?: string;
  requireAuthors?: string;
  clear?: boolean;
  json?: boolean;
}

/** The policy fields the flags change, each parsed (a bad one is exit 2 naming the flag). */
function policyChanges(opts: PolicyOptions): Partial<TenantGatePolicy> {
  const given: Array<[keyof TenantGatePolicy, keyof typeof policyFlags, string | undefined]> = [
    ['approvers', '--approvers', opts.approvers],
    ['roles', '--roles', opts.roles],
    ['quorum', '--quorum', opts.quorum],
    ['timeout', '--timeout', opts.timeout],
    ['signatures', '--signatures', opts.signatures],
    ['maxAge', '--max-age', opts.maxAge],
    ['requireAuthors', '--require-authors', opts.requireAuthors],
  ];
  return Object.fromEntries(given.filter(([, , value]) => value !== undefined).map(([field, name, value]) => [field, flag(policyFlags[name] as z.ZodType<unknown>, name, value)]));
}

/** A tenant's roles and prod policy as text. */
export function formatApprovalSettings(tenantId: string, approvals: TenantApprovals): string {
  const roles = Object.entries(approvals.roles).map(([role, members]) => `  ${role}: ${members.join(', ')}`);
  const prod = approvals.prod;
  return [
    `roles in ${tenantId}:${roles.length === 0 ? ' none (ados approver grant --tenant ' + tenantId + ' --role <role> --as <user>)' : ''}`,
    ...roles,
    prod
      ? `prod policy: ${prod.quorum} of [${[...prod.approvers, ...prod.roles.map((r) => `role ${r}`)].join(', ')}], timeout ${prod.timeout}, signatures ${prod.signatures}, maxAge ${prod.maxAge ?? 'none'}${prod.requireAuthors ? ', plans must name their authors' : ''}`
      : "prod policy: none (each plan's approval section decides)",
  ].join('\n');
}

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

/**
 * `ados approver keygen|list|revoke`: the approvers' Ed25519 keys that signed approvals are checked against;
 * `grant|ungrant`: their roles in the tenant; `policy`: the tenant's prod approval policy.
 */
export function registerApproverCommands(program: Command): void {
  const approver = program.command('approver').description("approvers' signing keys (Ed25519): make, list, revoke");

  approver
    .command('keygen')
    .description('make a key pair: the private key goes to a local file (0600), the public key is registered for the approver in the tenant')
    .requiredOption('--tenant <tenant>', 'the tenant whose gates will count the key')
    .requiredOption('--as <user>', 'the approver')
    .option('--key-file <file>', 'where to write the private key (default ~/.config/ados/keys/<tenant>/<user>.pem)')
    .option('--role <role>', 'also grant the approver this role in the tenant (as ados approver grant)')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; as: string; keyFile?: string; role?: string; json?: boolean }) => {
      const tenant = flag(tenantFlag, '--tenant', opts.tenant);
      const who = flag(approverFlag, '--as', opts.as);
      const role = opts.role === undefined ? undefined : flag(roleFlag, '--role', opts.role);
      const created = await withDatabase('ados approver keygen', async (db) => {
        const key = await createApproverKey(db, tenant, who, opts.keyFile);
        return role ? { ...key, roles: await setRoleMember(db, tenant, role, who, true) } : key;
      });
      emit(!!opts.json, created, () => `key ${created.keyId} registered for ${who} in ${tenant}${role ? `, role ${role} granted` : ''}; private key: ${created.keyFile} (ados approve signs with it)`);
    });

  for (const [name, granted] of [['grant', true], ['ungrant', false]] as const) {
    approver
      .command(name)
      .description(granted ? "give an approver a role in the tenant: a gate whose policy names the role counts them" : 'take a role from an approver (runs already started keep the members they started with)')
      .requiredOption('--tenant <tenant>', 'the tenant')
      .requiredOption('--as <user>', 'the approver')
      .requiredOption('--role <role>', 'the role, e.g. release-manager')
      .option('--json', 'print JSON')
      .action(async (opts: { tenant: string; as: string; role: string; json?: boolean }) => {
        const tenant = flag(tenantFlag, '--tenant', opts.tenant);
        const who = flag(approverFlag, '--as', opts.as);
        const role = flag(roleFlag, '--role', opts.role);
        const roles = await withDatabase(`ados approver ${name}`, (db) => setRoleMember(db, tenant, role, who, granted));
        emit(!!opts.json, { tenant, role, members: roles[role] ?? [] }, () => `role ${role} in ${tenant}: ${(roles[role] ?? []).join(', ') || 'no members'}`);
      });
  }

  approver
    .command('policy')
    .description("show or set the tenant's approval policy for prod (no flags: show); plans may strengthen it, never weaken it")
    .requiredOption('--tenant <tenant>', 'the tenant')
    .option('--approvers <ids>', 'named approvers, comma-separated (replaces the list)')
    .option('--roles <roles>', 'roles whose members may approve, comma-separated (replaces the list)')
    .option('--quorum <n>', 'distinct approvals needed')
    .option('--timeout <duration>', 'how long the gate waits, e.g. 72h')
    .option('--signatures <mode>', `${APPROVAL_SIGNATURE_MODES.join(' | ')}`)
    .option('--max-age <duration>', 'an approval older than this when the gate would let the run go on no longer counts (none: no expiry)')
    .option('--require-authors <on|off>', "plans must name their authors (approval.authors), who cannot approve them")
    .option('--clear', 'remove the policy: each plan\'s approval section decides again')
    .option('--json', 'print JSON')
    .action(async (opts: PolicyOptions) => {
      const tenant = flag(tenantFlag, '--tenant', opts.tenant);
      const changes = policyChanges(opts);
      const settings = await withDatabase('ados approver policy', async (db) => {
        if (opts.clear) await setProdPolicy(db, tenant, null);
        else if (Object.keys(changes).length > 0) await setProdPolicy(db, tenant, changes);
        return approvalSettings(db, tenant);
      });
      emit(!!opts.json, settings, () => formatApprovalSettings(tenant, settings));
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
