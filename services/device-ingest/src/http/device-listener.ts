/**
 * The device listener: one HTTP server for every device protocol, each router under its own
 * prefix (an ingress can route or restrict them separately). It is a separate port from the
 * service's own HTTP (probes, metrics) because devices need raw bodies (signatures, XML,
 * multipart) and their own limits, which the platform app's JSON parser would get in the way of.
 *
 * The one place to add a protocol is PROTOCOL_MOUNTS. Whatever a router throws or fails to parse
 * never crashes the listener: body errors (too large, malformed, aborted) become refusals with a
 * quarantine entry; anything else is a 500 (a fault of ours, logged), never a crash.
 */
import type { Server } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { listen, type HttpServer } from '@anfang/platform/http';
import type { ProtocolName } from '../ingest/types.ts';
import { admissionControl, type AdmissionLimits } from './admission.ts';
import { createGat1400Router } from './protocols/gat1400.ts';
import { createGenericRouter } from './protocols/generic.ts';
import { createIsapiRouter } from './protocols/isapi.ts';
import { createItsapiRouter } from './protocols/itsapi.ts';
import type { ProtocolDeps, ProtocolRouterFactory } from './protocols/types.ts';
import { bodyParserRefusal, BodyError, rejectRequest } from './reject.ts';

export interface ProtocolMount {
  readonly protocol: ProtocolName;
  /** Express mount paths match case-insensitively (`/ISAPI` also serves `/isapi`). */
  readonly prefix: string;
  readonly factory: ProtocolRouterFactory;
}

export const PROTOCOL_MOUNTS: readonly ProtocolMount[] = [
  { protocol: 'generic', prefix: '/api/v1/device', factory: createGenericRouter },
  { protocol: 'gat1400', prefix: '/VIID', factory: createGat1400Router },
  { protocol: 'isapi', prefix: '/ISAPI', factory: createIsapiRouter },
  { protocol: 'itsapi', prefix: '/NotificationInfo', factory: createItsapiRouter },
];

export interface DeviceListenerOptions {
  readonly port: number;
  readonly host?: string;
  /** Express `trust proxy` (behind the ingress, so `req.ip` is the device's address). */
  readonly trustProxy?: boolean | number | string;
  readonly mounts?: readonly ProtocolMount[];
  /** Bounds on the work in flight (src/http/admission.ts); none when absent. */
  readonly admission?: AdmissionLimits;
}

export function createDeviceApp(
  deps: ProtocolDeps,
  options: Pick<DeviceListenerOptions, 'trustProxy' | 'mounts' | 'admission'> = {},
): Express {
  const log = deps.logger.child({ component: 'device-listener' });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', options.trustProxy ?? false);
  if (options.admission) app.use(admissionControl(options.admission));

  for (const mount of options.mounts ?? PROTOCOL_MOUNTS) {
    const router = mount.factory(deps);
    app.use(
      mount.prefix,
      (_req: Request, res: Response, next: NextFunction) => {
        res.locals.protocol = mount.protocol;
        next();
      },
      router,
    );
  }

  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found', detail: `no device endpoint ${req.method} ${req.path}` });
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const protocol = (res.locals.protocol as ProtocolName | undefined) ?? 'generic';
    const refusal = bodyParserRefusal(err);
    if (refusal) {
      const partial = err instanceof BodyError ? err.partial : undefined;
      const size = err instanceof BodyError ? err.size : undefined;
      const deviceId =
        typeof req.headers['x-device-id'] === 'string' ? req.headers['x-device-id'] : undefined;
      void rejectRequest(deps, req, res, {
        protocol,
        ...refusal,
        deviceId: deviceId?.slice(0, 128),
        ...(partial ? { body: partial } : {}),
        ...(size !== undefined ? { size } : {}),
      });
      return;
    }
    log.error({ err, protocol, path: req.path }, 'device request failed');
    if (res.headersSent) return void res.destroy();
    res.status(500).json({ error: 'internal', detail: 'internal error' });
  });
  return app;
}

/** Starts the device listener; close it in the `stop-accepting` shutdown phase. */
export async function createDeviceListener(
  deps: ProtocolDeps,
  options: DeviceListenerOptions,
): Promise<HttpServer> {
  const app = createDeviceApp(deps, options);
  const server = await listen(app, options.port, options.host);
  hardenServer(server.server, deps);
  return server;
}

/** Malformed HTTP (bad request line, header overflow) and socket errors never reach express. */
function hardenServer(server: Server, deps: ProtocolDeps): void {
  server.requestTimeout = 120_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    deps.logger.debug?.({ code: err.code }, 'device connection error');
    if (socket.writable && !socket.destroyed) {
      const status =
        err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else socket.destroy();
  });
}
