/**
 * The generic signed HTTP/JSON device API, under /api/v1/device (README § Generic device API):
 *
 *   GET  time                → platform time (unsigned: a device whose clock is off must still get it)
 *   POST events              → a batch of typed events (JSON, or multipart with images as parts)
 *   POST heartbeat           → platform time + the commands waiting for the device
 *   POST commands/{id}/ack   → the device's result of a command
 *
 * Every POST carries X-Device-Id, X-Timestamp (ms), X-Nonce and X-Signature (src/domain/signature.ts).
 * Order of checks: headers, device, replay window, signature, nonce (a nonce is only spent by a
 * correctly signed request). Success is answered only once the events are durable.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { RegisteredDevice } from '../../domain/device.ts';
import { genericBatchSchema, normaliseGenericEvent, type ImagePart } from '../../domain/normalise/generic.ts';
import {
  NONCE_PATTERN,
  TIMESTAMP_PATTERN,
  verifySignature,
  withinReplayWindow,
} from '../../domain/signature.ts';
import type { NormalisedEvent } from '../../ingest/types.ts';
import { readRawBody, rejectRequest, type RejectReason } from '../reject.ts';
import type { ProtocolDeps, ProtocolRouterFactory } from './types.ts';

export const GENERIC_HEADERS = {
  deviceId: 'x-device-id',
  timestamp: 'x-timestamp',
  nonce: 'x-nonce',
  signature: 'x-signature',
} as const;

export const nonceKey = (deviceId: string, nonce: string): string => `generic:nonce:${deviceId}:${nonce}`;

type NonceVerdict = 'fresh' | 'replayed' | 'unavailable';

interface Authenticated {
  readonly device: RegisteredDevice;
  readonly deviceTime: Date;
  readonly receivedAt: Date;
  /**
   * The nonce being spent (SET NX), in flight while the body is parsed and the dedupe marks are
   * read; nothing is stored, published or answered as success before it resolved 'fresh'.
   */
  readonly nonce: Promise<NonceVerdict>;
}

/** The request did not pass its nonce check (the pipeline's admission). */
class NotAdmitted extends Error {
  readonly verdict: Exclude<NonceVerdict, 'fresh'>;
  constructor(verdict: Exclude<NonceVerdict, 'fresh'>) {
    super(`nonce ${verdict}`);
    this.verdict = verdict;
  }
}

const ackSchema = z.object({
  result: z.enum(['succeeded', 'failed']),
  detail: z.string().max(1000).optional(),
});

const timeBody = (now: Date) => ({ time: now.toISOString(), timeMs: now.getTime() });

export const createGenericRouter: ProtocolRouterFactory = (deps: ProtocolDeps) => {
  const router = Router();
  const log = deps.logger.child({ component: 'generic' });

  const refuse = (
    req: Request,
    res: Response,
    status: number,
    reason: RejectReason,
    detail: string,
    deviceId?: string,
  ): Promise<void> =>
    rejectRequest(deps, req, res, { protocol: 'generic', status, reason, detail, deviceId });

  router.get('/time', (_req, res) => {
    res.set('cache-control', 'no-store').json(timeBody(deps.now()));
  });

  async function authenticate(req: Request, res: Response, next: NextFunction): Promise<void> {
    const receivedAt = deps.now();
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    const deviceId = header(GENERIC_HEADERS.deviceId);
    const timestamp = header(GENERIC_HEADERS.timestamp);
    const nonce = header(GENERIC_HEADERS.nonce);
    const signature = header(GENERIC_HEADERS.signature);
    if (!deviceId || !timestamp || !nonce || !signature)
      return refuse(
        req,
        res,
        401,
        'unsigned',
        'X-Device-Id, X-Timestamp, X-Nonce and X-Signature are required',
        deviceId?.slice(0, 128),
      );
    const device = deps.directory.byId(deviceId);
    if (!device) return refuse(req, res, 401, 'unknown_device', 'unknown device', deviceId.slice(0, 128));
    if (!device.active) return refuse(req, res, 403, 'inactive_device', 'device is decommissioned', deviceId);
    if (!TIMESTAMP_PATTERN.test(timestamp) || !NONCE_PATTERN.test(nonce))
      return refuse(
        req,
        res,
        401,
        'unsigned',
        'X-Timestamp must be ms since the epoch; X-Nonce 8-128 of [A-Za-z0-9_-]',
        deviceId,
      );
    const ts = Number(timestamp);
    if (!withinReplayWindow(ts, receivedAt.getTime(), deps.limits.replayWindowMs)) {
      res.setHeader('x-server-time', String(receivedAt.getTime()));
      return refuse(
        req,
        res,
        401,
        'stale_timestamp',
        `timestamp outside the ${deps.limits.replayWindowMs} ms window; GET time to resync`,
        deviceId,
      );
    }
    const secret = await deps.directory.secretOf(deviceId);
    if (!secret) return refuse(req, res, 403, 'no_credentials', 'device has no secret', deviceId);
    const ok = verifySignature(
      secret,
      {
        timestamp,
        nonce,
        method: req.method,
        path: req.originalUrl,
        body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      },
      signature,
    );
    if (!ok) return refuse(req, res, 401, 'bad_signature', 'signature does not match', deviceId);
    const spent = deps.cache.setIfAbsent(nonceKey(deviceId, nonce), '1', 2 * deps.limits.replayWindowMs).then(
      (fresh): NonceVerdict => (fresh ? 'fresh' : 'replayed'),
      (err: unknown): NonceVerdict => {
        log.warn({ err }, 'nonce store unavailable');
        return 'unavailable';
      },
    );
    res.locals.auth = { device, deviceTime: new Date(ts), receivedAt, nonce: spent } satisfies Authenticated;
    next();
  }

  const auth = (req: Request, res: Response, next: NextFunction) => {
    authenticate(req, res, next).catch(next);
  };

  /** Answers a refused nonce (401 replayed, or 503 when the store failed); true when fresh. */
  const refuseUnadmitted = async (
    req: Request,
    res: Response,
    verdict: NonceVerdict,
    deviceId: string,
  ): Promise<boolean> => {
    if (verdict === 'fresh') return true;
    if (verdict === 'replayed') await refuse(req, res, 401, 'replayed', 'nonce already used', deviceId);
    else {
      res.setHeader('retry-after', '1');
      res.status(503).json({ error: 'unavailable', detail: 'try again' });
    }
    return false;
  };
  const admitted = async (req: Request, res: Response): Promise<boolean> => {
    const { device, nonce } = res.locals.auth as Authenticated;
    return refuseUnadmitted(req, res, await nonce, device.deviceId);
  };
  const body = readRawBody(deps.limits);

  router.post('/events', body, auth, async (req, res) => {
    const { device, deviceTime, receivedAt, nonce } = res.locals.auth as Authenticated;
    const parsed = await parseEventsBody(req);
    if (!parsed.ok) {
      if (!(await admitted(req, res))) return;
      return refuse(req, res, parsed.status, parsed.reason, parsed.detail, device.deviceId);
    }
    const items = parsed.events.map((raw) => normaliseGenericEvent(raw, parsed.parts));
    const good = items.flatMap((item, index) => (item.ok ? [{ index, event: item.event }] : []));
    if (good.length === 0) {
      if (!(await admitted(req, res))) return;
      return rejectRequest(deps, req, res, {
        protocol: 'generic',
        status: 400,
        reason: 'invalid_event',
        detail: 'no usable event',
        deviceId: device.deviceId,
        respond: (r, quarantineId) =>
          void r.status(400).json({
            error: 'invalid_event',
            detail: 'no usable event',
            quarantineId,
            results: resultsOf(items, []),
          }),
      });
    }
    const admission = nonce.then((verdict) => {
      if (verdict !== 'fresh') throw new NotAdmitted(verdict);
    });
    admission.catch(() => undefined); // answered below, whether or not the pipeline awaited it
    let accepted;
    try {
      accepted = await deps.pipeline.accept(
        device,
        good.map((g) => g.event as NormalisedEvent),
        { protocol: 'generic', receivedAt, deviceTime, admission },
      );
    } catch (err) {
      if (err instanceof NotAdmitted)
        return void (await refuseUnadmitted(req, res, err.verdict, device.deviceId));
      log.error({ err, deviceId: device.deviceId }, 'events not stored');
      res.setHeader('retry-after', '1');
      return void res
        .status(503)
        .json({ error: 'unavailable', detail: 'events not stored; send them again' });
    }
    // Already settled when the pipeline awaited it (a pipeline that did not is checked here).
    if (!(await admitted(req, res))) return;
    const byIndex = new Map(good.map((g, i) => [g.index, accepted[i]!]));
    const results = resultsOf(items, byIndex);
    if (good.length < items.length) {
      // Keep the batch for inspection; the device still gets its per-event answer.
      await rejectRequest(deps, req, res, {
        protocol: 'generic',
        status: 200,
        reason: 'invalid_event',
        detail: `${items.length - good.length} of ${items.length} events unusable`,
        deviceId: device.deviceId,
        respond: () => undefined,
      });
    }
    res.json({ results });
  });

  router.post('/heartbeat', body, auth, async (req, res) => {
    if (!(await admitted(req, res))) return;
    const { device, deviceTime, receivedAt } = res.locals.auth as Authenticated;
    let commands;
    try {
      commands = await deps.pipeline.heartbeat(device, { protocol: 'generic', receivedAt, deviceTime });
    } catch (err) {
      log.error({ err, deviceId: device.deviceId }, 'heartbeat failed');
      res.setHeader('retry-after', '1');
      return void res.status(503).json({ error: 'unavailable', detail: 'try again' });
    }
    res.json({ ...timeBody(deps.now()), commands });
  });

  router.post('/commands/:commandId/ack', body, auth, async (req, res) => {
    if (!(await admitted(req, res))) return;
    const { device, deviceTime, receivedAt } = res.locals.auth as Authenticated;
    const commandId = String(req.params.commandId);
    let json: unknown;
    try {
      json = JSON.parse((req.body as Buffer).toString('utf8') || '{}');
    } catch {
      return refuse(req, res, 400, 'malformed', 'body is not JSON', device.deviceId);
    }
    const ack = ackSchema.safeParse(json);
    if (!ack.success)
      return refuse(req, res, 400, 'malformed', 'result must be succeeded or failed', device.deviceId);
    if (!deps.pipeline.acknowledgeCommand)
      return void res.status(501).json({ error: 'unsupported', detail: 'commands are not enabled' });
    let outcome;
    try {
      outcome = await deps.pipeline.acknowledgeCommand(
        device,
        commandId,
        ack.data.result,
        ack.data.detail ?? '',
        {
          protocol: 'generic',
          receivedAt,
          deviceTime,
        },
      );
    } catch (err) {
      log.error({ err, deviceId: device.deviceId }, 'ack not stored');
      res.setHeader('retry-after', '1');
      return void res.status(503).json({ error: 'unavailable', detail: 'try again' });
    }
    if (outcome.outcome === 'not-found')
      return refuse(
        req,
        res,
        404,
        'unknown_command',
        `no command ${commandId} for this device`,
        device.deviceId,
      );
    res.json({
      commandId,
      status: outcome.status,
      ...(outcome.outcome === 'already-final' ? { alreadyFinal: true } : {}),
    });
  });

  return router;
};

function resultsOf(
  items: ReturnType<typeof normaliseGenericEvent>[],
  accepted: ReadonlyMap<number, { eventId: string; created: boolean }> | [],
) {
  const map = accepted instanceof Map ? accepted : new Map<number, { eventId: string; created: boolean }>();
  return items.map((item, index) => {
    if (!item.ok)
      return {
        index,
        ...(item.deviceEventId ? { deviceEventId: item.deviceEventId } : {}),
        status: 'rejected',
        reason: item.reason,
      };
    const a = map.get(index)!;
    return {
      index,
      deviceEventId: item.deviceEventId,
      status: a.created ? 'accepted' : 'duplicate',
      eventId: a.eventId,
    };
  });
}

type ParsedBody =
  | { ok: true; events: unknown[]; parts: Map<string, ImagePart> }
  | { ok: false; status: number; reason: RejectReason; detail: string };

async function parseEventsBody(req: Request): Promise<ParsedBody> {
  const raw = req.body as Buffer;
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  const parts = new Map<string, ImagePart>();
  let json: unknown;
  if (type.startsWith('multipart/form-data')) {
    let form: FormData;
    try {
      // A copy: the Response may take over (detach) the buffer it is given, and req.body must stay intact for the quarantine.
      form = await new Response(new Uint8Array(raw), { headers: { 'content-type': type } }).formData();
    } catch {
      return { ok: false, status: 400, reason: 'malformed', detail: 'unreadable multipart body' };
    }
    let eventsText: string | undefined;
    for (const [name, value] of form.entries()) {
      if (name === 'events') {
        eventsText = typeof value === 'string' ? value : await value.text();
      } else if (typeof value !== 'string') {
        parts.set(name, {
          contentType: value.type || 'application/octet-stream',
          bytes: Buffer.from(await value.arrayBuffer()),
        });
        if (value.name && value.name !== name && !parts.has(value.name))
          parts.set(value.name, parts.get(name)!);
      }
    }
    if (eventsText === undefined)
      return { ok: false, status: 400, reason: 'malformed', detail: 'multipart body needs an "events" part' };
    try {
      json = JSON.parse(eventsText);
    } catch {
      return { ok: false, status: 400, reason: 'malformed', detail: '"events" part is not JSON' };
    }
  } else if (type.startsWith('application/json') || type === '') {
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      return { ok: false, status: 400, reason: 'malformed', detail: 'body is not JSON' };
    }
  } else {
    return {
      ok: false,
      status: 415,
      reason: 'unsupported_media_type',
      detail: 'send application/json or multipart/form-data',
    };
  }
  const batch = genericBatchSchema.safeParse(Array.isArray(json) ? { events: json } : json);
  if (!batch.success)
    return { ok: false, status: 400, reason: 'malformed', detail: 'expected {"events": [1..500 events]}' };
  return { ok: true, events: batch.data.events, parts };
}
