/**
 * Dahua ITSAPI push from ANPR / tollgate cameras:
 *   POST /NotificationInfo/KeepAlive    → heartbeat                → {"Result": true}
 *   POST /NotificationInfo/TollgateInfo → PlateRead (+ NormalPic)  → {"Result": true} once stored
 * The camera resends until it gets `"Result": true`, so that answer means "durably accepted";
 * when the pipeline fails the camera gets 503 with `"Result": false` and sends it again, and
 * the resend is recognised by its source key (plate + AccurateTime + channel + UploadNum).
 * Unusable payloads get a 4xx with `"Result": false` and the reason, and are quarantined.
 *
 * Mounted by the device listener under `/NotificationInfo`; it answers the two full paths
 * (case-insensitive), whatever the mount point.
 */
import { Router, type Request, type Response } from 'express';
import { ItsapiPayloadError, mapTollgateInfo, parseItsapiJson } from '../../domain/normalise/itsapi.ts';
import type { RegisteredDevice } from '../../domain/device.ts';
import {
  PushRefusal,
  type DigestMode,
  checkDigest,
  deviceAt,
  fullPath,
  refuse,
  remoteAddress,
} from './isapi-push.ts';
import { rawBodyOf, readRawBody } from '../reject.ts';
import type { ProtocolDeps, ProtocolRouterFactory } from './types.ts';

const KEEP_ALIVE = '/notificationinfo/keepalive';
const TOLLGATE = '/notificationinfo/tollgateinfo';

export interface ItsapiRouterOptions {
  /** Default `required`. */
  readonly digest?: DigestMode;
}

export function itsapiRouterFactory(options: ItsapiRouterOptions = {}): ProtocolRouterFactory {
  const digest = options.digest ?? 'required';
  return (deps) => {
    const router = Router();
    router.use(
      (req, res, next) => {
        const path = fullPath(req).toLowerCase();
        if (path !== KEEP_ALIVE && path !== TOLLGATE) return next('router');
        if (req.method !== 'POST') {
          res.setHeader('Allow', 'POST');
          return void send(res, 405, `${req.method} is not supported here`);
        }
        next();
      },
      // Oversized and aborted bodies become refusals in the device listener's error handler.
      readRawBody(deps.limits),
      (req, res, next) => {
        handle(deps, digest, fullPath(req).toLowerCase() === TOLLGATE, req, res).catch(next);
      },
    );
    return router;
  };
}

/** The router with Digest required. */
export const createItsapiRouter: ProtocolRouterFactory = itsapiRouterFactory();

async function handle(
  deps: ProtocolDeps,
  digest: DigestMode,
  tollgate: boolean,
  req: Request,
  res: Response,
): Promise<void> {
  const receivedAt = deps.now();
  const address = remoteAddress(req);
  let device: RegisteredDevice | undefined;
  try {
    const body = rawBodyOf(req);
    device = deviceAt(deps, address);
    await checkDigest(req, deps, device, digest);
    const context = { protocol: 'itsapi' as const, receivedAt };
    if (!tollgate) {
      try {
        await deps.pipeline.heartbeat(device, context);
      } catch (err) {
        deps.logger.error({ err, deviceId: device.deviceId }, 'ITSAPI keepalive not recorded');
        return void send(res, 503, 'keepalive not recorded');
      }
      return void send(res, 200);
    }
    if (body.length === 0) throw new PushRefusal(400, 'malformed', 'empty body');
    const result = mapTollgateInfo(parseItsapiJson(body.toString('utf8')), {
      deviceDirection: device.direction,
    });
    try {
      // SnapInfo.AccurateTime is the capture's time: a clock sample only when the plate read is new
      // (a resend is a duplicate and says nothing about the clock). README § Status and clock.
      await deps.pipeline.accept(device, [result.event], {
        ...context,
        deviceTime: result.deviceTime,
        deviceTimeOfEvents: true,
      });
    } catch (err) {
      deps.logger.error(
        { err, deviceId: device.deviceId },
        'ITSAPI plate read not stored; the camera will resend',
      );
      return void send(res, 503, 'not stored, send it again');
    }
    send(res, 200);
  } catch (err) {
    const refusal =
      err instanceof PushRefusal
        ? err
        : err instanceof ItsapiPayloadError
          ? new PushRefusal(400, 'invalid_event', err.message)
          : undefined;
    if (refusal === undefined) throw err;
    await refuse(deps, req, res, {
      protocol: 'itsapi',
      refusal,
      ...(device === undefined ? {} : { deviceId: device.deviceId }),
      send,
    });
  }
}

function send(res: Response, status: number, reason?: string): void {
  res.status(status).json(status === 200 ? { Result: true } : { Result: false, Reason: reason });
}
