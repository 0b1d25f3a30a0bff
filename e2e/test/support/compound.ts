/**
 * A kit compound as the district office registers it with compliance-scoring through the
 * gateway: an old open compound due to be closed, with the kit's buildings and units.
 */
import type { Compound } from '@anfang/simulator';
import type { Rest } from './gateway.ts';

export async function registerCompound(rest: Rest, compound: Compound): Promise<void> {
  await rest('POST', '/v1/compounds', {
    compound: {
      compoundId: compound.code,
      name: compound.name,
      townStreet: compound.town,
      neighbourhoodCommittee: compound.committee,
      category: 'COMPOUND_CATEGORY_OPEN_OLD',
      programmeGroup: 'PROGRAMME_GROUP_OLD_TO_CLOSE',
      buildingsCount: compound.buildings,
      unitsCount: compound.buildings * compound.unitsPerBuilding,
    },
  });
}
