/**
 * Security hygiene in front of everything: helmet's headers (a CSP that lets the dashboard load
 * only its own assets), CORS for the configured origins only, and fixed-window rate limits per
 * address and per user, counted in Redis so that every replica shares them.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import type { Cache } from '@anfang/platform/cache';
import { ResourceExhaustedError } from '@anfang/platform/grpc';
import { maybePrincipal } from './context.ts';

export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // swagger-ui's page sets inline styles.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:', 'https:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    crossOriginEmbedderPolicy: false,
  });
}

export function corsPolicy(origins: readonly string[]): RequestHandler {
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && origins.includes(origin)),
    credentials: true,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-anfang-purpose', 'last-event-id'],
    maxAge: 600,
  });
}

const WINDOW_MS = 60_000;

async function count(cache: Cache, key: string, limit: number, res: Response): Promise<void> {
  const window = Math.floor(Date.now() / WINDOW_MS);
  const used = await cache.increment(`rate:${key}:${window}`, 1, WINDOW_MS * 2);
  if (used > limit) {
    res.set('retry-after', String(Math.ceil(((window + 1) * WINDOW_MS - Date.now()) / 1000)));
    throw new ResourceExhaustedError('too many requests: slow down', { reason: 'RATE_LIMITED' });
  }
}

/** Before authentication: per client address. */
export function addressRateLimit(cache: Cache, perMinute: number): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    await count(cache, `addr:${req.ip ?? 'unknown'}`, perMinute, res);
    next();
  };
}

/** After authentication: per signed-in user (whatever address they come from). */
export function userRateLimit(cache: Cache, perMinute: number): RequestHandler {
  return async (_req: Request, res: Response, next: NextFunction) => {
    const principal = maybePrincipal(res);
    if (principal) await count(cache, `user:${principal.subject}`, perMinute, res);
    next();
  };
}
