/**
 * `ados governance override show|set|clear`: a tenant's overrides of the default governance rules (table
 * `governance_policies`): cooldowns per action family, the repetition limit, the confidence threshold, the dev and
 * stage allowlists. The flags are parsed here, the overrides they make are checked by the contract's schema, and
 * every refusal names the flag (exit 2), e.g. `--cooldown restart: at most a day (86400)`.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { ENVIRONMENTS } from '../../shared/contract/delivery/input';
import { governanceOverridesSchema, resolvePolicy, type GovernanceOverrides } from '../../shared/contract/governance/policy';
import { InputValidationError, issuesFromZod, type ValidationIssue } from '../../shared/contract/validation';
import { loadConfig } from '../../shared/node/config';
import type { Db } from '../../shared/node/db';
import { governanceOverrides, setGovernanceOverrides } from '../../shared/node/governance/store';
import { withCliDatabase } from '../common/database';
import { scopedTenant, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { emit } from '../output';

/** The flags of `ados governance override set`, as commander hands them over (repeatable ones collected). */
export interface OverrideFlags {
  cooldown?: string[];
  repetitionMax?: string;
  repetitionWindow?: string;
  confidence?: string;
  allow?: string[];
  replace?: boolean;
}

const wholeNumber = z.string().regex(/^\d+$/, 'must be a whole number');
const cooldownFlag = z.string().regex(/^[a-z_]+=\d+$/, 'expected <family>=<seconds>, e.g. restart=30');
const allowFlag = z.string().regex(/^[a-z]+=(\*|[a-z_]+(,[a-z_]+)*)$/, 'expected <environment>=<action,action…> or <environment>=*, e.g. stage=restart,noop');
const overrideFlagsSchema = z.strictObject({
  cooldown: z.array(cooldownFlag).optional(),
  repetitionMax: wholeNumber.optional(),
  repetitionWindow: wholeNumber.optional(),
  confidence: z.string().regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'must be a number from 0 to 1, e.g. 0.6').optional(),
  allow: z.array(allowFlag).optional(),
  replace: z.boolean().optional(),
});

/** The flag a path of the overrides comes from: `cooldownSeconds.restart` → `--cooldown restart`. */
function flagOf(path: string): string {
  const [head, key] = path.replace(/\[\d+\]/g, '').split('.');
  if (head === 'cooldownSeconds') return key ? `--cooldown ${key}` : '--cooldown';
  if (head === 'repetition') return key === 'windowSeconds' ? '--repetition-window' : '--repetition-max';
  if (head === 'confidenceThreshold') return '--confidence';
  if (head === 'allowlists') return key ? `--allow ${key}` : '--allow';
  return path;
}

const FLAG_NAMES: Record<keyof OverrideFlags, string> = {
  cooldown: '--cooldown',
  repetitionMax: '--repetition-max',
  repetitionWindow: '--repetition-window',
  confidence: '--confidence',
  allow: '--allow',
  replace: '--replace',
};

/**
 * The overrides `set` stores: the tenant's current ones (none with `--replace`) with the flags' values laid over them,
 * per cooldown family, repetition field and environment. Throws InputValidationError naming each bad flag.
 */
export function overridesFromFlags(raw: OverrideFlags, current: GovernanceOverrides): GovernanceOverrides {
  const parsedFlags = overrideFlagsSchema.safeParse(raw);
  if (!parsedFlags.success) {
    const issues = issuesFromZod(parsedFlags.error).map((issue) => ({ ...issue, path: FLAG_NAMES[issue.path.replace(/\[\d+\]$/, '') as keyof OverrideFlags] ?? issue.path }));
    throw new InputValidationError('governance override', issues);
  }
  const flags = parsedFlags.data;
  const setsSomething = [flags.cooldown?.length, flags.repetitionMax, flags.repetitionWindow, flags.confidence, flags.allow?.length].some(Boolean);
  if (!setsSomething && !flags.replace) {
    throw new InputValidationError('governance override', [{ path: 'flags', message: 'give at least one of --cooldown, --repetition-max, --repetition-window, --confidence, --allow (or --replace to clear the rest)' }]);
  }
  const base = flags.replace ? {} : current;
  const pairs = (list: string[] | undefined) => (list ?? []).map((entry) => entry.split('=') as [string, string]);
  const cooldowns = pairs(flags.cooldown);
  const allowlists = pairs(flags.allow);
  const repetition = {
    ...base.repetition,
    ...(flags.repetitionMax !== undefined ? { max: Number(flags.repetitionMax) } : {}),
    ...(flags.repetitionWindow !== undefined ? { windowSeconds: Number(flags.repetitionWindow) } : {}),
  };
  const unknownEnvironment = allowlists.find(([environment]) => !(ENVIRONMENTS as readonly string[]).includes(environment));
  if (unknownEnvironment) {
    throw new InputValidationError('governance override', [{ path: '--allow', message: `unknown environment "${unknownEnvironment[0]}": one of ${ENVIRONMENTS.join(', ')}` }]);
  }
  const candidate = {
    ...base,
    ...(cooldowns.length > 0 ? { cooldownSeconds: { ...base.cooldownSeconds, ...Object.fromEntries(cooldowns.map(([family, s]) => [family, Number(s)])) } } : {}),
    ...(Object.keys(repetition).length > 0 ? { repetition } : {}),
    ...(flags.confidence !== undefined ? { confidenceThreshold: Number(flags.confidence) } : {}),
    ...(allowlists.length > 0 ? { allowlists: { ...base.allowlists, ...Object.fromEntries(allowlists.map(([environment, actions]) => [environment, actions === '*' ? '*' : actions.split(',')])) } } : {}),
  };
  const checked = governanceOverridesSchema.safeParse(candidate);
  if (!checked.success) {
    const issues: ValidationIssue[] = issuesFromZod(checked.error).map((issue) => ({ ...issue, path: flagOf(issue.path) }));
    throw new InputValidationError('governance override', issues);
  }
  return checked.data;
}


function policyText(tenantId: string, overrides: GovernanceOverrides): string {
  const policy = resolvePolicy(overrides);
  const allow = Object.entries(policy.allowlists).map(([environment, actions]) => `${environment}: ${actions === '*' ? '*' : actions.join(', ')}`);
  return [
    `${tenantId}: ${Object.keys(overrides).length === 0 ? 'no overrides (the defaults apply)' : `overrides ${JSON.stringify(overrides)}`}`,
    `cooldowns (s): ${Object.entries(policy.cooldownSeconds).map(([family, s]) => `${family} ${s}`).join(', ')}`,
    `repetition: at most ${policy.repetition.max} in ${policy.repetition.windowSeconds} s`,
    `confidence below ${policy.confidenceThreshold} → noop`,
    `allowlists: ${allow.join('; ')} (prod always after approval)`,
  ].join('\n');
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerGovernanceCommands(program: Command): void {
  const governance = program.command('governance').description("a tenant's governance rules: overrides of the default cooldowns, repetition limit, confidence threshold and allowlists");
  const override = governance.command('override').description("show, set or clear a tenant's overrides of the default governance rules");

  override
    .command('show')
    .description('the tenant\'s overrides and the rules in force with them')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (flags: { tenant?: string; json?: boolean }) => {
      const tenantId = scopedTenant(flags.tenant);
      const overrides = await withCliDatabase('ados governance', (db) => governanceOverrides(db, tenantId));
      emit(!!flags.json, { tenantId, overrides, policy: resolvePolicy(overrides) }, () => policyText(tenantId, overrides));
    });

  override
    .command('set')
    .description('lay these values over the tenant\'s overrides (--replace: over none)')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--cooldown <family=seconds>', 'a cooldown per action family (restart, scale, rollback, deploy), e.g. restart=30; repeatable', collect)
    .option('--repetition-max <n>', 'the same action on the same target at most n times per window')
    .option('--repetition-window <seconds>', 'the repetition window, in seconds')
    .option('--confidence <0..1>', 'below this confidence an incident\'s action becomes a noop')
    .option('--allow <env=actions>', 'an allowlist, e.g. stage=restart,noop or dev=*; repeatable (prod still needs approval)', collect)
    .option('--replace', 'start from no overrides: the flags given are all there will be')
    .option('--json', 'print JSON')
    .action(async (flags: OverrideFlags & { tenant?: string; json?: boolean }) => {
      const tenantId = scopedTenant(flags.tenant);
      const { tenant: _tenant, json, ...overrideFlags } = flags;
      const stored = await withCliDatabase('ados governance', async (db) => setGovernanceOverrides(db, tenantId, overridesFromFlags(overrideFlags, await governanceOverrides(db, tenantId))));
      emit(!!json, { tenantId, overrides: stored, policy: resolvePolicy(stored) }, () => policyText(tenantId, stored));
    });

  override
    .command('clear')
    .description('drop every override of the tenant: the defaults apply')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (flags: { tenant?: string; json?: boolean }) => {
      const tenantId = scopedTenant(flags.tenant);
      const stored = await withCliDatabase('ados governance', (db) => setGovernanceOverrides(db, tenantId, {}));
      emit(!!flags.json, { tenantId, overrides: stored, policy: resolvePolicy(stored) }, () => policyText(tenantId, stored));
    });

  // cli.ts makes two levels of commands throw rather than exit; these are a third.
  for (const leaf of override.commands) leaf.exitOverride();
}
