/**
 * The 2D site plan's stored marker positions: `GET /v1/compounds/{compound_id}/site-plan` for
 * anyone who sees the compound, `PUT …/site-plan/markers/{marker_id}` for those who place them
 * (scope checked per compound; every write audited, refused ones too).
 */
import type { Request, Response, Router } from 'express';
import { InvalidArgumentError, PermissionDeniedError } from '@anfang/platform/grpc';
import { z } from 'zod';
import { requireCurrentPassword } from '../auth/sign-in.ts';
import type { AuditEntry } from '../domain/audit-chain.ts';
import { SITE_PLAN_EDITORS, SITE_PLAN_READERS } from '../domain/policy.ts';
import { inScope, type Principal } from '../domain/principal.ts';
import { MARKER_KINDS, type PlanMarker, type SitePlanStore } from '../store/site-plan.ts';
import { auditBase, maybePrincipal, principalOf } from './context.ts';

const COMPOUND_ID = /^[0-9A-Za-z_-]{1,64}$/;

const markerBody = z.strictObject({
  kind: z.enum(MARKER_KINDS),
  refId: z.string().min(1).max(200),
  label: z.string().max(200).default(''),
  x: z.number().min(0).max(1),
  y: z.number().min(0).max(1),
});

function allowed(
  req: Request,
  res: Response,
  roles: readonly string[],
): { principal: Principal; compoundId: string } {
  const principal = principalOf(res);
  requireCurrentPassword(principal);
  const compoundId = String(req.params.compound_id ?? '');
  if (!COMPOUND_ID.test(compoundId))
    throw new InvalidArgumentError('invalid compound id', [
      { field: 'compound_id', description: 'a compound id' },
    ]);
  if (!roles.includes(principal.role))
    throw new PermissionDeniedError(`role ${principal.role} may not do this`, { reason: 'ROLE_NOT_ALLOWED' });
  if (!inScope(principal, compoundId))
    throw new PermissionDeniedError(`compound ${compoundId} is outside your scope`, {
      reason: 'OUT_OF_SCOPE',
    });
  return { principal, compoundId };
}

const toJson = ({ markerId, kind, refId, label, x, y, updatedBy, updatedAt }: PlanMarker) => ({
  markerId,
  kind,
  refId,
  label,
  x,
  y,
  updatedBy,
  updatedAt: updatedAt.toISOString(),
});

export function sitePlanRoutes(
  router: Router,
  deps: { store: SitePlanStore; audit: (entry: AuditEntry) => Promise<unknown> },
): void {
  router.get('/v1/compounds/:compound_id/site-plan', async (req, res) => {
    const { compoundId } = allowed(req, res, SITE_PLAN_READERS);
    res.json({ compoundId, markers: (await deps.store.list(compoundId)).map(toJson) });
  });

  router.put('/v1/compounds/:compound_id/site-plan/markers/:marker_id', async (req, res) => {
    const markerId = String(req.params.marker_id ?? '');
    const audited = (outcome: string) =>
      deps.audit({
        ...auditBase(req, maybePrincipal(res)),
        action: 'http.put /v1/compounds/{compound_id}/site-plan/markers/{marker_id}',
        target: `site-plan ${String(req.params.compound_id)} ${markerId}`,
        outcome,
        purpose: '',
        details: {},
      });
    try {
      const { principal, compoundId } = allowed(req, res, SITE_PLAN_EDITORS);
      const parsed = markerBody.safeParse(req.body);
      if (!parsed.success)
        throw new InvalidArgumentError(
          'invalid marker',
          parsed.error.issues.map((i) => ({ field: i.path.join('.'), description: i.message })),
        );
      const marker = parsed.data;
      if (markerId !== `${marker.kind}~${marker.refId}`)
        throw new InvalidArgumentError('the marker id is not <kind>~<refId>', [
          { field: 'marker_id', description: `expected ${marker.kind}~${marker.refId}` },
        ]);
      const stored = await deps.store.put(compoundId, { ...marker, markerId, updatedBy: principal.subject });
      await audited('ok');
      res.json(toJson(stored));
    } catch (error) {
      await audited(
        error instanceof Error && 'reason' in error ? String(error.reason ?? error.name) : 'error',
      );
      throw error;
    }
  });
}
