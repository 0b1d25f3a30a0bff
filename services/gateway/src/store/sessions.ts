/**
 * Sessions of built-in accounts: opaque random tokens, kept in Redis under the SHA-256 of the
 * token (a leaked cache dump does not hand out sessions). Opaque rather than self-contained JWTs
 * so that sign-out, lockout and password changes end a session at once, and the idle timeout
 * slides with the requests. It is renewed at most once per twentieth of the idle timeout (90 s
 * of 30 min), not on every request: a busy operator's dashboard makes many calls a second, and a
 * write per call was a Redis round trip on every REST request.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Cache } from '@anfang/platform/cache';
import type { Principal } from '../domain/principal.ts';

export interface Session {
  readonly principal: Principal;
  readonly createdAt: number;
  /** The absolute end, whatever the activity. */
  readonly endsAt: number;
  /** When the idle timeout was last renewed (absent in sessions stored before it was kept). */
  readonly renewedAt?: number;
}

export interface SessionStore {
  create(
    principal: Omit<Principal, 'sessionId'>,
  ): Promise<{ token: string; session: Session; idleEndsAt: number }>;
  /** The live session of a token (its idle timeout renewed), or undefined. */
  touch(token: string): Promise<Session | undefined>;
  end(sessionId: string): Promise<void>;
  /** Replaces the principal of a live session (e.g. once its expired password is changed). */
  update(sessionId: string, principal: Principal): Promise<void>;
}

const idOf = (token: string) => createHash('sha256').update(token).digest('base64url');
const key = (sessionId: string) => `session:${sessionId}`;

export function createSessionStore(cache: Cache, options: { idleMs: number; maxMs: number }): SessionStore {
  const renewEveryMs = options.idleMs / 20;
  const save = async (sessionId: string, session: Session) => {
    const ttl = Math.min(options.idleMs, session.endsAt - Date.now());
    if (ttl <= 0) return cache.delete(key(sessionId));
    await cache.set(key(sessionId), JSON.stringify(session), ttl);
  };
  return {
    async create(principal) {
      const token = randomBytes(32).toString('base64url');
      const sessionId = idOf(token);
      const now = Date.now();
      const session: Session = {
        principal: { ...principal, sessionId },
        createdAt: now,
        endsAt: now + options.maxMs,
        renewedAt: now,
      };
      await save(sessionId, session);
      return { token, session, idleEndsAt: Math.min(now + options.idleMs, session.endsAt) };
    },
    async touch(token) {
      const sessionId = idOf(token);
      const stored = await cache.get(key(sessionId));
      if (!stored) return undefined;
      const session = JSON.parse(stored) as Session;
      const now = Date.now();
      if (session.endsAt <= now) {
        await cache.delete(key(sessionId));
        return undefined;
      }
      if (now - (session.renewedAt ?? 0) >= renewEveryMs)
        await save(sessionId, { ...session, renewedAt: now });
      return session;
    },
    end: (sessionId) => cache.delete(key(sessionId)),
    async update(sessionId, principal) {
      const stored = await cache.get(key(sessionId));
      if (!stored) return;
      await save(sessionId, { ...(JSON.parse(stored) as Session), principal });
    },
  };
}
