/**
 * A visitor's path: the compound's pedestrian gates, then the unit door of the destination.
 * Address codes are hierarchical (a child's code starts with its parent's), so a unit door
 * serves a destination when the door's address code is a prefix of the destination's code.
 */
export interface PathDoor {
  readonly doorId: string;
  readonly kind: 'compound_gate' | 'unit_door' | 'car_park';
  readonly addressCode: string;
}

export const MAX_VISIT_MS = 24 * 3_600_000;

export function visitPath(doors: readonly PathDoor[], destinationCode: string): string[] {
  return doors
    .filter(
      (door) =>
        door.kind === 'compound_gate' ||
        (door.kind === 'unit_door' && destinationCode.startsWith(door.addressCode)),
    )
    .map((door) => door.doorId);
}

/** A path with no unit door cannot lead anywhere but the grounds: refuse rather than guess. */
export function pathReachesDestination(doors: readonly PathDoor[], path: readonly string[]): boolean {
  return doors.some((door) => door.kind === 'unit_door' && path.includes(door.doorId));
}
