/**
 * Who is calling: `Authorization: Bearer <token>` or the `anfang_session` cookie. A token with
 * two dots is a JWT of the configured identity provider; anything else is a session token of a
 * built-in account. An invalid credential is 401 at once, never silently anonymous.
 */
import type { NextFunction, Request, Response } from 'express';
import { UnauthenticatedError } from '@anfang/platform/grpc';
import type { OidcVerifier } from '../auth/oidc.ts';
import type { SessionStore } from '../store/sessions.ts';
import { setPrincipal } from './context.ts';

export const SESSION_COOKIE = 'anfang_session';

export function cookieValue(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

export function credentialOf(req: Request): string | undefined {
  const authorization = req.get('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match)
      throw new UnauthenticatedError('Authorization must be "Bearer <token>"', { reason: 'UNAUTHENTICATED' });
    return match[1];
  }
  return cookieValue(req, SESSION_COOKIE);
}

export function authenticate(deps: { sessions: SessionStore; oidc: OidcVerifier | undefined }) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const token = credentialOf(req);
    if (!token) return next();
    if (token.split('.').length === 3) {
      if (!deps.oidc)
        throw new UnauthenticatedError('no identity provider is configured', { reason: 'TOKEN_INVALID' });
      setPrincipal(res, await deps.oidc(token));
      return next();
    }
    const session = await deps.sessions.touch(token);
    if (!session)
      throw new UnauthenticatedError('the session has ended: sign in again', { reason: 'SESSION_ENDED' });
    setPrincipal(res, session.principal);
    next();
  };
}
