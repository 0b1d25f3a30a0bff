/**
 * What every protocol router receives. Routers are mounted on the one device listener
 * (src/http/device-listener.ts), each under its own path prefix so that an ingress can route
 * or restrict them separately:
 *   /api/v1/device/…        generic signed HTTP/JSON     (generic.ts)
 *   /VIID/…                 GA/T 1400 receiving platform (gat1400.ts)
 *   /ISAPI/…, /isapi/…      Hikvision ISAPI event push   (isapi.ts)
 *   /NotificationInfo/…     Dahua ITSAPI                 (itsapi.ts)
 */
import type { Router } from 'express';
import type { Cache } from '@anfang/platform/cache';
import type { Logger } from '@anfang/platform/log';
import type { DeviceDirectory, IngestPipeline, Quarantine } from '../../ingest/types.ts';

export interface ProtocolLimits {
  /** Largest request body accepted, bytes (GA/T batches with base64 images are megabytes). */
  readonly maxBodyBytes: number;
  /** Signed requests older or newer than this are refused (replay window), ms. */
  readonly replayWindowMs: number;
}

export interface ProtocolDeps {
  readonly directory: DeviceDirectory;
  readonly pipeline: IngestPipeline;
  readonly quarantine: Quarantine;
  /** Nonces, GA/T 1400 sessions, Digest nonces: shared across replicas when Redis backs it. */
  readonly cache: Cache;
  readonly logger: Logger;
  readonly limits: ProtocolLimits;
  /** 20-digit id this platform answers as (GA/T 1400 VIIDServerID). */
  readonly platformId: string;
  /** Platform time; injectable so tests can move it. */
  readonly now: () => Date;
}

export type ProtocolRouterFactory = (deps: ProtocolDeps) => Router;
