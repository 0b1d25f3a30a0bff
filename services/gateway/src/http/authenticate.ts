/**
 * Who is calling: `Authorization: Bearer <token>` or the `anfang_session` cookie. A token with
 * two dots is a JWT of the configured identity provider; anything else is a session token of a
 * built-in account. An invalid credential is 401 at once, never silently anonymous.
 */
import type { NextFunction, Request, Response } from 'express';
import { UnauthenticatedError } from '@anfang/platform/grpc';
import type { OidcVerifier } from '../auth/oidc.ts';
import type { SessionStore } from '../store/sessions.ts';
import { markSessionEnded, setPrincipal } from './context.ts';

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

export interface Credential {
  readonly token: string;
  readonly from: 'header' | 'cookie';
}

export function credentialOf(req: Request): Credential | undefined {
  const authorization = req.get('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match)
      throw new UnauthenticatedError('Authorization must be "Bearer <token>"', { reason: 'UNAUTHENTICATED' });
    return { token: match[1]!, from: 'header' };
  }
  const cookie = cookieValue(req, SESSION_COOKIE);
  return cookie ? { token: cookie, from: 'cookie' } : undefined;
}

export function authenticate(deps: { sessions: SessionStore; oidc: OidcVerifier | undefined }) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const credential = credentialOf(req);
    if (!credential) return next();
    const { token } = credential;
    if (token.split('.').length === 3) {
      if (!deps.oidc)
        throw new UnauthenticatedError('no identity provider is configured', { reason: 'TOKEN_INVALID' });
      setPrincipal(res, await deps.oidc(token));
      return next();
    }
    const session = await deps.sessions.touch(token);
    if (!session) {
      // A browser keeps an ended session's cookie: it still loads the dashboard and signs in again,
      // and every call that needs a session answers 401 SESSION_ENDED (context.ts principalOf).
      if (credential.from === 'cookie') {
        markSessionEnded(res);
        return next();
      }
      throw new UnauthenticatedError('the session has ended: sign in again', { reason: 'SESSION_ENDED' });
    }
    setPrincipal(res, session.principal);
    next();
  };
}
