/**
 * A kit compound as the district office registers it with compliance-scoring through the
 * gateway: an old compound due to be closed (open by default), with the kit's buildings and
 * units and no building codes (per-building rows are checked compound-wide).
 */
import type { Compound } from '@anfang/simulator';
import type { Rest } from './gateway.ts';

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
