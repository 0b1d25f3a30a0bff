/** `GET /v1/audit` (search, newest first) and `GET /v1/audit:verify` (the hash chain), for auditors. */
import type { Response, Router } from 'express';
import { InvalidArgumentError, PermissionDeniedError } from '@anfang/platform/grpc';
import { z } from 'zod';
import { AUDIT_ROLES } from '../domain/policy.ts';
import type { AuditStore } from '../store/audit.ts';
import { principalOf } from './context.ts';

const query = z.strictObject({
  subject: z.string().max(200).optional(),
  action: z.string().max(100).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  pageSize: z.coerce.number().int().min(1).max(500).default(100),
  pageToken: z.string().regex(/^\d+$/).optional(),
});

function auditor(res: Response): void {
  const principal = principalOf(res);
  if (!AUDIT_ROLES.includes(principal.role))
    throw new PermissionDeniedError(`role ${principal.role} may not read the audit log`);
}

export function auditRoutes(router: Router, store: AuditStore): void {
  router.get('/v1/audit', async (req, res) => {
    auditor(res);
    const parsed = query.safeParse(req.query);
    if (!parsed.success)
      throw new InvalidArgumentError(
        'invalid audit query',
        parsed.error.issues.map((i) => ({ field: i.path.join('.'), description: i.message })),
      );
    const q = parsed.data;
    const rows = await store.search({
      ...(q.subject ? { subject: q.subject } : {}),
      ...(q.action ? { action: q.action } : {}),
      ...(q.from ? { from: new Date(q.from) } : {}),
      ...(q.to ? { to: new Date(q.to) } : {}),
      ...(q.pageToken ? { beforeSeq: Number(q.pageToken) } : {}),
      limit: q.pageSize,
    });
    res.json({
      entries: rows.map((r) => ({ ...r, at: r.at.toISOString() })),
      nextPageToken: rows.length === q.pageSize ? String(rows.at(-1)!.seq) : '',
    });
  });

  router.get('/v1/audit\\:verify', async (_req, res) => {
    auditor(res);
    res.json(await store.verify());
  });
}
