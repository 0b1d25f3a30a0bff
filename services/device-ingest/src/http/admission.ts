/**
 * Admission control of the device listener: at most `maxRequests` device requests, and at most
 * `maxBytes` of declared request bodies (Content-Length), are in flight at once. One more is
 * answered 503 with Retry-After before its body is read — every device protocol resends on a
 * 5xx (the generic API, GA/T 1400 and ITSAPI by their specs, ISAPI alarm servers by retrying) —
 * so an offered load beyond what the service can take waits on the devices, not as request
 * bodies and pending work in this process's memory (issue 3: RSS ≤ 300 MB under saturation).
 * A refusal here is not a client mistake: counted (`anfang.device_ingest.shed`), not quarantined.
 * A request is in flight from its arrival until its response is finished or its socket closed.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { requestCounter } from './counters.ts';

export interface AdmissionLimits {
  /** Most device requests in flight. */
  readonly maxRequests: number;
  /** Most declared body bytes in flight (requests without Content-Length count only above). */
  readonly maxBytes: number;
  /** Seconds the device is told to wait (Retry-After). Default 1. */
  readonly retryAfterSeconds?: number;
}

const shed = requestCounter(
  'anfang.device_ingest.shed',
  'Device requests answered 503 because the listener had too much in flight.',
);

export function admissionControl(limits: AdmissionLimits): RequestHandler {
  let requests = 0;
  let bytes = 0;
  const retryAfter = String(limits.retryAfterSeconds ?? 1);
  return (req: Request, res: Response, next: NextFunction) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const size = Number.isSafeInteger(declared) && declared > 0 ? declared : 0;
    // One request alone is always admitted, however large (the body limit judges its size).
    if (requests > 0 && (requests >= limits.maxRequests || bytes + size > limits.maxBytes)) {
      shed().add(1);
      res.setHeader('retry-after', retryAfter);
      // The unread body is drained by Node; closing spares reading what nobody will use.
      res.setHeader('connection', 'close');
      res.status(503).json({ error: 'busy', detail: 'too many requests in flight; retry later' });
      return;
    }
    requests++;
    bytes += size;
    res.once('close', () => {
      requests--;
      bytes -= size;
    });
    next();
  };
}
