/**
 * A compound's level as the district reads it (SPEC §4), through the gateway (the compound is
 * registered with `registerCompound` of compound.ts).
 */
import type { Compound } from '@anfang/simulator';
import { waitFor } from '@anfang/testing';
import type { Rest } from './gateway.ts';

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
