/**
 * The transfer network for `ados learn transfers`: which domain helped which, by how much, when (from PostgreSQL),
 * registered on the `learn` command by registerTransferCommand.
 */
import type { Command } from 'commander';
import { TRANSFER_DOMAINS } from '../../shared/contract/learning/transfer/input';
import { InputValidationError } from '../../shared/contract/validation';
import { loadConfig } from '../../shared/node/config';
import { transferNetwork, type TransferNetwork } from '../../shared/node/learning/transfer/store';
import { openCliDatabase } from '../common/database';
import { emit } from '../output';

const percent = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;

function checkedDomain(flag: string, name: string | undefined): string | undefined {
  if (name !== undefined && !(TRANSFER_DOMAINS as readonly string[]).includes(name)) {
    throw new InputValidationError('transfer filter', [{ path: flag, message: `unknown domain "${name}": one of ${TRANSFER_DOMAINS.join(', ')}` }]);
  }
  return name;
}

/** The transfer network, optionally of one source or target, with its latest `limit` transfers. */
export async function readTransferNetwork(filter: { source?: string; target?: string; limit?: number }): Promise<TransferNetwork> {
  const database = await openCliDatabase(loadConfig(), 'ados learn transfers');
  try {
    return await transferNetwork(database.db, filter);
  } finally {
    await database.close();
  }
}

export function formatTransferNetwork(network: TransferNetwork): string {
  if (network.edges.length === 0) return 'no transfers recorded yet: the learning-transfer schedule runs them (`ados schedule describe learning-transfer`)';
  const lines = ['source → target: cycles, promoted / kept / reverted, latest improvement (when), best'];
  for (const e of network.edges) {
    lines.push(`${e.source} → ${e.target}: ${e.cycles} cycle(s), ${e.promoted} / ${e.kept} / ${e.reverted}, ${percent(e.lastImprovement)} (${e.lastAt}), best ${percent(e.bestImprovement)}`);
  }
  lines.push('', 'latest transfers:');
  for (const t of network.transfers) {
    const version = t.registeredVersion !== undefined ? `v${t.registeredVersion} live` : `v${t.liveVersion} stays live`;
    lines.push(`${t.scheduledAt}  ${t.source} → ${t.target} ${t.pattern}/${t.method}: ${t.decision}${t.negative ? ' (negative transfer)' : ''} AUC ${t.independentAuc.toFixed(3)} → ${t.transferredAuc.toFixed(3)} (${percent(t.improvement)}), ${version}`);
  }
  return lines.join('\n');
}

/** `ados learn transfers`. */
export function registerTransferCommand(learn: Command): void {
  learn
    .command('transfers')
    .description('the transfer network: which domain helped which, by how much, when (transfer-learning cycles)')
    .option('--source <domain>', `only transfers from this domain (${TRANSFER_DOMAINS.join(', ')})`)
    .option('--target <domain>', 'only transfers to this domain')
    .option('--limit <n>', 'how many of the latest transfers to list', '20')
    .option('--json', 'print JSON')
    .action(async (flags: { source?: string; target?: string; limit: string; json?: boolean }) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new InputValidationError('transfer filter', [{ path: '--limit', message: `"${flags.limit}" must be a whole number of at least 1` }]);
      const network = await readTransferNetwork({ source: checkedDomain('--source', flags.source), target: checkedDomain('--target', flags.target), limit });
      emit(!!flags.json, network, () => formatTransferNetwork(network));
    });
}
