/**
 * A compound as the district registers it for compliance scoring, and its level as the district
 * reads it (SPEC §4), through the gateway.
 */
import type { Compound } from '@anfang/simulator';
import { waitFor } from '@anfang/testing';
import type { Rest } from './gateway.ts';

/** Registers a kit compound (no building codes: per-building rows are checked compound-wide). */
export async function registerCompound(
  rest: Rest,
  compound: Compound,
  /** The physical category: it picks the table (open old → B; closed → A). */
  category = 'COMPOUND_CATEGORY_OPEN_OLD',
): Promise<void> {
  await rest('POST', '/v1/compounds', {
    compound: {
      compoundId: compound.code,
      name: compound.name,
      townStreet: compound.town,
      neighbourhoodCommittee: compound.committee,
      category,
      programmeGroup: 'PROGRAMME_GROUP_OLD_TO_CLOSE',
      buildingsCount: compound.buildings,
      unitsCount: compound.buildings * compound.unitsPerBuilding,
    },
  });
}

export interface MissingItem {
  module: string;
  evidenceLacking: string;
}

export interface Level {
  level: string;
  devicesOnline?: number;
  devicesRequired?: number;
  deviceNetworkingRate?: number;
  missingForNextLevel?: MissingItem[];
}

/** Lowest first. */
const LEVELS = [
  'COMPLIANCE_LEVEL_NOT_COMPLIANT',
  'COMPLIANCE_LEVEL_COMPLIANT',
  'COMPLIANCE_LEVEL_QUALITY',
  'COMPLIANCE_LEVEL_DEMONSTRATION',
];

/** 0 for 未达标 up to 3 for 示范. */
export const rank = (l: Level): number => LEVELS.indexOf(l.level);

export const levelOf = (rest: Rest, compound: Compound): Promise<Level> =>
  rest<Level>('GET', `/v1/compounds/${compound.code}/level`);

/**
 * The compound's level once it counts devices online and the count held over one poll: every
 * heartbeating device has been seen.
 */
export async function settledLevel(rest: Rest, compound: Compound, intervalMs: number): Promise<Level> {
  let last: Level | undefined;
  return waitFor(
    async () => {
      const now = await levelOf(rest, compound);
      const steady = (now.devicesOnline ?? 0) > 0 && now.devicesOnline === last?.devicesOnline;
      last = now;
      return steady ? now : undefined;
    },
    { timeoutMs: 120_000, intervalMs, message: 'the compound never showed its devices online' },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last level ${JSON.stringify(last)}`, { cause: error });
  });
}
