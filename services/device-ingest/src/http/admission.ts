/**
 * Admission control of the device listener, in two bounds (issue 3: RSS ≤ 300 MB under
 * saturation).
 *
 * In flight: at most `maxRequests` device requests, and `maxBytes` of declared request bodies
 * (Content-Length), from arrival until their response is finished or their socket closed. One
 * more is answered 503 with Retry-After before its body is read — every device protocol resends
 * on a 5xx (the generic API, GA/T 1400 and ITSAPI by their specs, ISAPI alarm servers by
 * retrying) — so an offered load beyond what the service can take waits on the devices. A refusal
 * here is not a client mistake: counted (`anfang.device_ingest.shed`), not quarantined.
 *
 * Processing: of those, the batches — bodies of more than 1 KiB — are read, parsed and stored
 * at most `maxProcessing` and `maxProcessingBytes` of declared bodies at once; the others wait,
 * in arrival order, before their body is read. A waiting request holds its socket and the first
 * chunk of its body, not its parsed payload, decoded pictures, pending uploads and sends: what 64
 * GA/T batches processed together held — 2 560 picture uploads queued for 64 sockets — plus the
 * garbage they promoted while they waited on each other, was the peak (349 MiB). The store, the
 * bus and the CPU are no faster with more work started at once. Smaller requests never wait:
 * heartbeats and single events, whose memory the in-flight bound already caps, and which queued
 * behind batches would make devices late for their keepalives. A body of unknown length
 * (chunked) counts as the whole byte budget. A batch alone is always processed, however large
 * (the body limit judges its size).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { requestCounter } from './counters.ts';

export interface AdmissionLimits {
  /** Most device requests in flight (processing or waiting). */
  readonly maxRequests: number;
  /** Most declared body bytes in flight (requests without Content-Length count only above). */
  readonly maxBytes: number;
  /** Most batches (bodies over 1 KiB) processed at once; more wait, unread. */
  readonly maxProcessing: number;
  /** Most declared body bytes of batches processed at once; more wait, unread. */
  readonly maxProcessingBytes: number;
  /** Seconds the device is told to wait (Retry-After). Default 1. */
  readonly retryAfterSeconds?: number;
}

/** Bodies of at most this many bytes never wait (heartbeats, single events; see above). */
const LIGHT_BYTES = 1024;

const shed = requestCounter(
  'anfang.device_ingest.shed',
  'Device requests answered 503 because the listener had too much in flight.',
);

interface Waiting {
  readonly weight: number;
  readonly start: () => void;
}

export function admissionControl(limits: AdmissionLimits): RequestHandler {
  let requests = 0;
  let bytes = 0;
  let processing = 0;
  let processingBytes = 0;
  // At most maxRequests long: shift and splice cost nothing that matters.
  const queue: Waiting[] = [];
  const retryAfter = String(limits.retryAfterSeconds ?? 1);

  const fits = (weight: number): boolean =>
    processing === 0 ||
    (processing < limits.maxProcessing && processingBytes + weight <= limits.maxProcessingBytes);

  const startWaiting = (): void => {
    while (queue.length > 0 && fits(queue[0]!.weight)) queue.shift()!.start();
  };

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
    const weight = req.headers['transfer-encoding'] !== undefined ? limits.maxProcessingBytes : size;
    if (weight <= LIGHT_BYTES) {
      res.once('close', () => {
        requests--;
        bytes -= size;
      });
      next();
      return;
    }
    let started = false;
    const start = (): void => {
      started = true;
      processing++;
      processingBytes += weight;
      next();
    };
    const waiting: Waiting = { weight, start };
    res.once('close', () => {
      requests--;
      bytes -= size;
      if (!started) {
        // The device gave up while waiting.
        queue.splice(queue.indexOf(waiting), 1);
        return;
      }
      processing--;
      processingBytes -= weight;
      startWaiting();
    });
    // Arrival order: nobody overtakes a request already waiting.
    if (queue.length === 0 && fits(weight)) start();
    else queue.push(waiting);
  };
}
