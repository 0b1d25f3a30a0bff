/** `GET /v1/live`: Server-Sent Events of the viewer's scope (README, "Live updates"). */
import type { Router } from 'express';
import { InvalidArgumentError, PermissionDeniedError } from '@anfang/platform/grpc';
import { requireCurrentPassword } from '../auth/sign-in.ts';
import { inScope } from '../domain/principal.ts';
import { LIVE_TYPES, type LiveEvent, type LiveHub, type LiveType } from '../live/hub.ts';
import { principalOf } from './context.ts';

/**
 * Roles with nothing to watch live. Auditors follow the feed of their scope: every payload is
 * masked (hub.ts), and they never act on it.
 */
const NO_LIVE = new Set(['resident']);

function frame(event: LiveEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${event.data}\n\n`;
}

export function liveRoutes(router: Router, deps: { hub: LiveHub; heartbeatMs: number }): void {
  router.get('/v1/live', (req, res) => {
    const principal = principalOf(res);
    requireCurrentPassword(principal);
    if (NO_LIVE.has(principal.role))
      throw new PermissionDeniedError(`role ${principal.role} has no live view`);
    const requested = typeof req.query.types === 'string' ? req.query.types.split(',').filter(Boolean) : [];
    for (const t of requested)
      if (!Object.hasOwn(LIVE_TYPES, t))
        throw new InvalidArgumentError(`unknown live type ${t} (${Object.keys(LIVE_TYPES).join(', ')})`);
    const types = new Set<LiveType>(
      (requested.length > 0 ? requested : Object.keys(LIVE_TYPES)) as LiveType[],
    );
    const named = req.query.compound_id ?? req.query.compound;
    const compound = typeof named === 'string' && named !== '' ? named : undefined;
    if (compound !== undefined && !inScope(principal, compound))
      throw new PermissionDeniedError(`compound ${compound} is outside your scope`, {
        reason: 'OUT_OF_SCOPE',
      });

    res.status(200).set({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    res.write('retry: 3000\n\n');
    const { missed, leave } = deps.hub.join(
      {
        principal,
        types,
        ...(compound !== undefined ? { compoundId: compound } : {}),
        send: (event) => res.write(frame(event)),
        end: () => res.end(),
      },
      req.get('last-event-id'),
    );
    for (const event of missed) res.write(frame(event));
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), deps.heartbeatMs);
    res.once('close', () => {
      clearInterval(heartbeat);
      leave();
    });
  });
}
