/** Things drawn on a compound's 2D plan (SPEC §3, 可视化平台). */
export type MarkerKind =
  'building' | 'gate' | 'unit_door' | 'barrier' | 'camera' | 'perimeter_zone' | 'device';
export type MarkerStatus = 'online' | 'offline' | 'unknown' | 'alarm' | 'armed' | 'disarmed';

export interface Marker {
  readonly kind: MarkerKind;
  /** Building code, device id or zone id. */
  readonly refId: string;
  readonly label: string;
  /** Position as fractions of the plan's width and height, so the plan redraws at any size. */
  x: number;
  y: number;
  /** False until the position was stored (or loaded) — the default layout placed it. */
  placed: boolean;
  status: MarkerStatus;
}

/** Stored marker as the site-plan API returns it. */
export interface StoredMarker {
  readonly markerId?: string;
  readonly kind: string;
  readonly refId: string;
  readonly x: number;
  readonly y: number;
}

/** What each device type is on the plan. */
const DEVICE_KINDS: Record<string, MarkerKind> = {
  DEVICE_TYPE_FACE_GATE: 'gate',
  DEVICE_TYPE_ACCESS_CONTROLLER: 'gate',
  DEVICE_TYPE_VISITOR_KIOSK: 'gate',
  DEVICE_TYPE_UNIT_DOOR_TERMINAL: 'unit_door',
  DEVICE_TYPE_PLATE_CAMERA: 'barrier',
  DEVICE_TYPE_FACE_CAPTURE_CAMERA: 'camera',
  DEVICE_TYPE_VIDEO_CAMERA: 'camera',
};

export function kindOfDevice(deviceType: string | undefined): MarkerKind {
  return DEVICE_KINDS[deviceType ?? ''] ?? 'device';
}

export function markerId(kind: MarkerKind, refId: string): string {
  return `${kind}~${refId}`;
}

/**
 * Where a marker goes before anyone placed it: buildings on a grid in the middle, perimeter
 * zones around the edge, gates and barriers along the bottom (the usual entrance side), other
 * devices in a band at the top. Unplaced markers never overlap, so each can be grabbed.
 */
export function defaultPosition(kind: MarkerKind, index: number, count: number): { x: number; y: number } {
  const spread = (i: number, n: number, from: number, to: number): number =>
    from + ((i + 0.5) / Math.max(1, n)) * (to - from);
  switch (kind) {
    case 'building': {
      const columns = Math.max(1, Math.ceil(Math.sqrt(count)));
      const rows = Math.max(1, Math.ceil(count / columns));
      return {
        x: spread(index % columns, columns, 0.2, 0.8),
        y: spread(Math.floor(index / columns), rows, 0.25, 0.7),
      };
    }
    case 'perimeter_zone': {
      // Walk the border clockwise from the top-left corner.
      const t = (index + 0.5) / Math.max(1, count);
      const side = Math.floor(t * 4);
      const along = t * 4 - side;
      const edge = 0.05;
      if (side === 0) return { x: edge + along * (1 - 2 * edge), y: edge };
      if (side === 1) return { x: 1 - edge, y: edge + along * (1 - 2 * edge) };
      if (side === 2) return { x: 1 - edge - along * (1 - 2 * edge), y: 1 - edge };
      return { x: edge, y: 1 - edge - along * (1 - 2 * edge) };
    }
    case 'gate':
    case 'barrier':
      return { x: spread(index, count, 0.15, 0.85), y: kind === 'gate' ? 0.86 : 0.78 };
    case 'unit_door':
      return { x: spread(index, count, 0.12, 0.88), y: 0.72 };
    case 'camera':
      return { x: spread(index, count, 0.12, 0.88), y: 0.16 };
    default:
      return { x: spread(index, count, 0.12, 0.88), y: 0.1 };
  }
}

/** Keeps a dragged position inside the plan. */
export function clampPosition(x: number, y: number): { x: number; y: number } {
  const clamp = (v: number): number => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0.5);
  return { x: clamp(x), y: clamp(y) };
}

/**
 * The plan's markers: every building, device and zone, at its stored position when there is one,
 * otherwise at its default place. Stored positions of things that no longer exist are ignored.
 */
export function layoutMarkers(
  items: readonly { kind: MarkerKind; refId: string; label: string }[],
  stored: readonly StoredMarker[],
): Marker[] {
  const positions = new Map(stored.map((m) => [`${m.kind}~${m.refId}`, m]));
  const counts = new Map<MarkerKind, number>();
  for (const item of items) counts.set(item.kind, (counts.get(item.kind) ?? 0) + 1);
  const seen = new Map<MarkerKind, number>();
  return items.map((item) => {
    const index = seen.get(item.kind) ?? 0;
    seen.set(item.kind, index + 1);
    const saved = positions.get(markerId(item.kind, item.refId));
    const position = saved
      ? clampPosition(saved.x, saved.y)
      : defaultPosition(item.kind, index, counts.get(item.kind) ?? 1);
    return { ...item, ...position, placed: saved !== undefined, status: 'unknown' };
  });
}
