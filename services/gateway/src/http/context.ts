/** What the gateway's middleware learns about a request, for the handlers after it. */
import type { Request, Response } from 'express';
import { UnauthenticatedError } from '@anfang/platform/grpc';
import type { AuditEntry } from '../domain/audit-chain.ts';
import { scopeLabel, type Principal } from '../domain/principal.ts';

export function setPrincipal(res: Response, principal: Principal): void {
  res.locals.principal = principal;
}

/** The request came with the cookie of a session that has ended. */
export function markSessionEnded(res: Response): void {
  res.locals.sessionEnded = true;
}

/** The signed-in principal; 401 when the request is anonymous. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal)
    throw res.locals.sessionEnded === true
      ? new UnauthenticatedError('the session has ended: sign in again', { reason: 'SESSION_ENDED' })
      : new UnauthenticatedError('sign in first', { reason: 'UNAUTHENTICATED' });
  return principal;
}

export function maybePrincipal(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

/** The audit row's who/where for this request. */
export function auditBase(
  req: Request,
  principal: Principal | undefined,
): Pick<AuditEntry, 'subject' | 'subjectName' | 'role' | 'scope' | 'address' | 'userAgent'> {
  return {
    subject: principal?.subject ?? 'anonymous',
    subjectName: principal?.name ?? '',
    role: principal?.role ?? '',
    scope: principal ? scopeLabel(principal) : '',
    address: req.ip ?? '',
    userAgent: (req.get('user-agent') ?? '').slice(0, 300),
  };
}
