/** Site-plan marker positions in the gateway's Postgres (the dashboard's 2D plan). */
import type { Pool } from '@anfang/platform/pg';

export const MARKER_KINDS = [
  'building',
  'gate',
  'unit_door',
  'barrier',
  'camera',
  'perimeter_zone',
  'device',
] as const;
export type MarkerKind = (typeof MARKER_KINDS)[number];

export interface PlanMarker {
  readonly markerId: string;
  readonly kind: MarkerKind;
  readonly refId: string;
  readonly label: string;
  readonly x: number;
  readonly y: number;
  readonly updatedBy: string;
  readonly updatedAt: Date;
}

export interface SitePlanStore {
  list(compoundId: string): Promise<PlanMarker[]>;
  put(compoundId: string, marker: Omit<PlanMarker, 'updatedAt'>): Promise<PlanMarker>;
}

interface Row {
  marker_id: string;
  kind: MarkerKind;
  ref_id: string;
  label: string;
  x: number;
  y: number;
  updated_by: string;
  updated_at: Date;
}

const fromRow = (r: Row): PlanMarker => ({
  markerId: r.marker_id,
  kind: r.kind,
  refId: r.ref_id,
  label: r.label,
  x: r.x,
  y: r.y,
  updatedBy: r.updated_by,
  updatedAt: r.updated_at,
});

export function createSitePlanStore(pool: Pool): SitePlanStore {
  return {
    async list(compoundId) {
      const { rows } = await pool.query<Row>(
        'SELECT * FROM site_plan_markers WHERE compound_id = $1 ORDER BY marker_id',
        [compoundId],
      );
      return rows.map(fromRow);
    },
    async put(compoundId, m) {
      const { rows } = await pool.query<Row>(
        `INSERT INTO site_plan_markers (compound_id, marker_id, kind, ref_id, label, x, y, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
         ON CONFLICT (compound_id, marker_id) DO UPDATE SET kind = excluded.kind, ref_id = excluded.ref_id,
           label = excluded.label, x = excluded.x, y = excluded.y, updated_by = excluded.updated_by,
           updated_at = excluded.updated_at
         RETURNING *`,
        [compoundId, m.markerId, m.kind, m.refId, m.label, m.x, m.y, m.updatedBy],
      );
      return fromRow(rows[0]!);
    },
  };
}
