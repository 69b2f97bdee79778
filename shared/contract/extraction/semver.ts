import { SEMVER_PATTERN } from './schema';

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
}

export function parseSemver(text: string): SemVer | undefined {
  const match = SEMVER_PATTERN.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

/** Negative when a < b, zero when equal (pre-release tags are ignored), positive when a > b. */
export function compareSemver(a: SemVer, b: SemVer): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export const formatSemver = (v: SemVer): string => `${v.major}.${v.minor}.${v.patch}`;

/** "5.9" for 5.9.3: migrations are registered per minor version. */
export const minorLine = (v: SemVer): string => `${v.major}.${v.minor}`;
