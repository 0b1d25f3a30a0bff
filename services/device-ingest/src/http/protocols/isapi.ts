/**
 * Hikvision ISAPI event push ("alarm server"): devices POST `EventNotificationAlert` as bare XML,
 * as JSON (access terminals), or as multipart/form-data with the document first and the pictures
 * after it. The device gets 200 only once the pipeline accepted the events (durable); a 4xx with
 * the reason for what cannot be used (kept in quarantine); 503 when the platform could not store
 * it, so the device sends it again (`isDataRetransmission`), which the pipeline deduplicates.
 *
 * Mounted by the device listener under `/ISAPI` and `/isapi`; it answers only the configured
 * alert paths (full paths, case-insensitive), whatever the mount point.
 */
import { Router, type Request, type Response } from 'express';
import {
  IsapiPayloadError,
  isapiClaimedIdentity,
  isapiIsRetransmission,
  mapIsapiAlert,
  parseIsapiDocument,
  type IsapiAlert,
  type IsapiPicture,
} from '../../domain/normalise/isapi.ts';
import { sniffImage } from '../../domain/normalise/itsapi.ts';
import { DEFAULT_MULTIPART_LIMITS, parseMultipart, type MultipartLimits } from './isapi-multipart.ts';
import {
  PushRefusal,
  type DigestMode,
  checkClaims,
  checkDigest,
  deviceAt,
  fullPath,
  refuse,
  remoteAddress,
} from './isapi-push.ts';
import { rawBodyOf, readRawBody } from '../reject.ts';
import type { ProtocolDeps, ProtocolRouterFactory } from './types.ts';

export const DEFAULT_ISAPI_PATHS: readonly string[] = ['/ISAPI/Event/notification/alert', '/isapi/events'];

export interface IsapiRouterOptions {
  /** Full request paths the devices are told to push to (httpHosts `url`). */
  readonly paths?: readonly string[];
  readonly multipart?: MultipartLimits;
  /** Default `required`. */
  readonly digest?: DigestMode;
}

export function isapiRouterFactory(options: IsapiRouterOptions = {}): ProtocolRouterFactory {
  const paths = new Set(
    (options.paths ?? DEFAULT_ISAPI_PATHS).map((p) => p.toLowerCase().replace(/\/+$/, '')),
  );
  const multipartLimits = options.multipart ?? DEFAULT_MULTIPART_LIMITS;
  const digest = options.digest ?? 'required';
  return (deps) => {
    const router = Router();
    router.use(
      (req, res, next) => {
        if (!paths.has(fullPath(req).toLowerCase())) return next('router');
        if (req.method !== 'POST') {
          res.setHeader('Allow', 'POST');
          return void sendStatus(res, 405, `${req.method} is not supported here`);
        }
        next();
      },
      // Oversized and aborted bodies become refusals in the device listener's error handler.
      readRawBody(deps.limits),
      (req, res, next) => {
        handle(deps, multipartLimits, digest, req, res).catch(next);
      },
    );
    return router;
  };
}

/** The router with the default alert paths. */
export const createIsapiRouter: ProtocolRouterFactory = isapiRouterFactory();

async function handle(
  deps: ProtocolDeps,
  limits: MultipartLimits,
  digest: DigestMode,
  req: Request,
  res: Response,
): Promise<void> {
  const receivedAt = deps.now();
  const address = remoteAddress(req);
  // Until the payload names its sender, a refusal is filed under the address's only device, if any.
  let refusedFor = deps.directory.byAddress(address)?.deviceId;
  try {
    const { alert, pictures } = await decode(req.headers['content-type'] ?? '', rawBodyOf(req), limits);
    const claimed = isapiClaimedIdentity(alert);
    refusedFor = undefined;
    const device = deviceAt(deps, address, claimed);
    refusedFor = device.deviceId;
    await checkDigest(req, deps, device, digest);
    checkClaims(deps, address, device, claimed);
    const outcome = mapIsapiAlert(alert, pictures, { deviceDirection: device.direction });
    // The alert's dateTime is a clock sample only when it was sent as it happened: never from a
    // retransmission (buffered while offline), and from events only when one of them is new
    // (a resend after a failed answer is a duplicate). README § Status and clock.
    const sample = outcome.deviceTime !== undefined && !isapiIsRetransmission(alert);
    const context = {
      protocol: 'isapi' as const,
      receivedAt,
      ...(sample ? { deviceTime: outcome.deviceTime, deviceTimeOfEvents: outcome.kind === 'events' } : {}),
    };
    if (outcome.kind === 'ignored') {
      deps.logger.debug(
        { deviceId: device.deviceId, eventType: outcome.eventType },
        'ISAPI event type not mapped',
      );
    }
    try {
      if (outcome.kind === 'events') {
        await deps.pipeline.accept(device, outcome.events, context);
      } else {
        // A heartbeat, or an event Anfang does not use: still proof of life and a clock reading.
        await deps.pipeline.heartbeat(device, context);
      }
    } catch (err) {
      deps.logger.error({ err, deviceId: device.deviceId }, 'ISAPI push not stored; the device will resend');
      return void sendStatus(res, 503, 'not stored, send it again');
    }
    sendStatus(res, 200, 'OK');
  } catch (err) {
    const refusal =
      err instanceof PushRefusal
        ? err
        : err instanceof IsapiPayloadError
          ? new PushRefusal(400, 'invalid_event', err.message)
          : undefined;
    if (refusal === undefined) throw err;
    await refuse(deps, req, res, {
      protocol: 'isapi',
      refusal,
      ...(refusedFor === undefined ? {} : { deviceId: refusedFor }),
      send: sendStatus,
    });
  }
}

async function decode(
  contentType: string,
  body: Buffer,
  limits: MultipartLimits,
): Promise<{ alert: IsapiAlert; pictures: IsapiPicture[] }> {
  if (body.length === 0) throw new PushRefusal(400, 'malformed', 'empty body');
  if (/^multipart\//i.test(contentType)) {
    const parts = await parseMultipart(body, contentType, limits);
    const [document, ...rest] = parts;
    if (document === undefined) throw new PushRefusal(400, 'malformed', 'multipart body has no parts');
    const alert = parseIsapiDocument(document.bytes.toString('utf8'));
    const pictures = rest.map((part): IsapiPicture => {
      const name = part.filename ?? part.name;
      const type = sniffImage(part.bytes);
      if (type === undefined)
        throw new PushRefusal(400, 'malformed', `multipart part ${name} is not a JPEG or PNG picture`);
      return { name, contentType: type, bytes: part.bytes };
    });
    return { alert, pictures };
  }
  return { alert: parseIsapiDocument(body.toString('utf8')), pictures: [] };
}

const STATUS_STRINGS: Record<number, [number, string, string]> = {
  200: [1, 'OK', 'ok'],
  400: [6, 'Invalid Content', 'badParameters'],
  401: [4, 'Invalid Operation', 'unauthorized'],
  403: [4, 'Invalid Operation', 'forbidden'],
  405: [4, 'Invalid Operation', 'methodNotAllowed'],
  413: [6, 'Invalid Content', 'bodyTooLarge'],
  500: [3, 'Device Error', 'internalError'],
  503: [2, 'Device Busy', 'retryLater'],
};

/** ISAPI's own answer shape, `ResponseStatus`, which Hikvision devices log. */
function sendStatus(res: Response, status: number, reason: string): void {
  const [code, text, sub] = STATUS_STRINGS[status] ?? [6, 'Invalid Content', 'error'];
  res
    .status(status)
    .type('application/xml; charset=utf-8')
    .send(
      `<?xml version="1.0" encoding="UTF-8"?>\n<ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">` +
        `<requestURL>${escapeXml(res.req.originalUrl)}</requestURL><statusCode>${code}</statusCode>` +
        `<statusString>${text}</statusString><subStatusCode>${sub}</subStatusCode>` +
        `<errorMsg>${escapeXml(reason)}</errorMsg></ResponseStatus>\n`,
    );
}

function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
