/** The domains a transfer pair may name (TRANSFER_DOMAINS), built from their seeded generator or from NAB files. */
import { resolve } from 'node:path';
import { z } from 'zod';
import type { TransferDomainName } from '../../../contract/learning/transfer/input';
import { ConfigError, loadNabDataDir } from '../../config';
import { nabDomain } from './nab-domains';
import { syntheticDomain, type DomainData } from './synthetic';

/** The base truth's seed, shared by the synthetic base and every domain derived from it. */
const BASE_SEED = 1515;

/** Builds the named domain's rows (deterministic: the same name gives the same rows). */
export function buildDomain(name: TransferDomainName, nabDir = loadNabDataDir()): DomainData {
  switch (name) {
    case 'synthetic-base':
      return syntheticDomain({ name, relation: 'base', baseSeed: BASE_SEED, seed: 11, rows: 3000, holdoutFraction: 0.3 });
    case 'synthetic-related':
      return syntheticDomain({ name, relation: 'related', baseSeed: BASE_SEED, seed: 21, rows: 600, holdoutFraction: 0.95 });
    case 'synthetic-unrelated':
      return syntheticDomain({ name, relation: 'unrelated', baseSeed: BASE_SEED, seed: 31, rows: 600, holdoutFraction: 0.95 });
    case 'synthetic-opposed':
      return syntheticDomain({ name, relation: 'opposed', baseSeed: BASE_SEED, seed: 41, rows: 600, holdoutFraction: 0.95 });
    case 'nab-ec2-cpu':
      return nabDomain(name, nabDir, 51, 0.3);
    case 'nab-other-aws':
      return nabDomain(name, nabDir, 61, 0.8);
  }
}
