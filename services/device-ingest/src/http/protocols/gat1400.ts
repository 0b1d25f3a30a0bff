/**
 * GA/T 1400 receiving platform (视图库): capture cameras and lower systems register with HTTP
 * Digest, keep alive, and push Faces, MotorVehicles and Persons with base64 pictures
 * (../shared/protocols/GAT1400.md). Sessions and Digest nonces live in the shared cache so that
 * any replica can serve any request.
 *
 * Mount under `/VIID` (`app.use('/VIID', createGat1400Router(deps))`); mounted at the root it
 * serves `/VIID/…` itself and passes everything else on.
 */
import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { RegisteredDevice } from '../../domain/device.ts';
import {
  digestNonces,
  formatGat1400Time,
  isGat1400Id,
  unwrap,
  parseDigestAuthorization,
  responseStatus,
  STATUS,
  verifyDigest,
  type DigestCredentials,
  type ResponseStatus,
} from '@anfang/gat1400';
import {
  batchObjects,
  checkDeletion,
  deletionIds,
  GAT1400_KINDS,
  imageObjects,
  mapApe,
  mapGat1400Image,
  mapGat1400Object,
  objectIdOf,
  type Gat1400Mapped,
  type Gat1400ObjectKind,
} from '../../domain/normalise/gat1400.ts';
import type { AcceptContext, NormalisedEvent } from '../../ingest/types.ts';
import type { ProtocolDeps, ProtocolRouterFactory } from './types.ts';
import {
  BodyError,
  bodyParserRefusal,
  readRawBody,
  rejectRequest,
  remoteAddressOf,
  type RejectReason,
} from '../reject.ts';

export interface Gat1400Options {
  /** How long a registration holds; then keepalives and pushes get 401 and the device registers again. */
  readonly registrationTtlMs?: number;
  /** How long a Digest challenge's nonce may be answered (once). */
  readonly nonceTtlMs?: number;
  /** Digest realm announced in the challenge. */
  readonly realm?: string;
  /**
   * Some cameras answer the challenge with an empty nonce. Accepted by default (the notes ask for
   * it); such an answer is still single-use: its response value is remembered for the
   * registration's lifetime, so replaying it fails.
   */
  readonly acceptEmptyNonce?: boolean;
}

export const GAT1400_DEFAULTS = {
  registrationTtlMs: 3600_000,
  nonceTtlMs: 300_000,
  acceptEmptyNonce: true,
} as const;

const CONTENT_TYPE = 'application/VIID+JSON;charset=UTF-8';
const PROTOCOL = 'gat1400' as const;

interface Session {
  readonly deviceId: string;
  readonly registeredAt: string;
}

const sessionKey = (gat1400Id: string): string => `gat1400:session:${gat1400Id}`;

export function createGat1400Router(deps: ProtocolDeps, options: Gat1400Options = {}): Router {
  const registrationTtlMs = options.registrationTtlMs ?? GAT1400_DEFAULTS.registrationTtlMs;
  const nonceTtlMs = options.nonceTtlMs ?? GAT1400_DEFAULTS.nonceTtlMs;
  const acceptEmptyNonce = options.acceptEmptyNonce ?? GAT1400_DEFAULTS.acceptEmptyNonce;
  const realm = options.realm ?? deps.platformId;
  const log = deps.logger.child({ component: 'gat1400' });
  // In the shared cache: a camera answering through another replica than the one that
  // challenged it is accepted (the load balancer owes it no stickiness).
  const nonces = digestNonces(deps.cache, nonceTtlMs);

  const viid = express.Router();
  viid.use(readRawBody(deps.limits));

  // ---- answers ------------------------------------------------------------------------------

  const send = (res: Response, status: number, body: object): void => {
    res.status(status).type(CONTENT_TYPE).send(JSON.stringify(body));
  };
  const status = (req: Request, id: string, code: number, text: string): ResponseStatus =>
    responseStatus(id, req.originalUrl.split('?')[0] ?? '', code, text, deps.now());
  const answer = (req: Request, res: Response, http: number, id: string, code: number, text: string): void =>
    send(res, http, { ResponseStatusObject: status(req, id, code, text) });

  /**
   * A client mistake: counted, kept in quarantine with the reason (reject.ts), answered with a 4xx
   * in GA/T form; `challenge` adds a fresh WWW-Authenticate (prepared before, as it is async).
   */
  const reject = async (
    req: Request,
    res: Response,
    r: {
      http: number;
      code: number;
      reason: RejectReason;
      detail: string;
      id?: string;
      deviceId?: string;
      body?: Buffer;
      size?: number;
      challenge?: string;
    },
  ): Promise<void> =>
    rejectRequest(deps, req, res, {
      protocol: PROTOCOL,
      status: r.http,
      reason: r.reason,
      detail: r.detail,
      deviceId: r.deviceId,
      ...(r.body ? { body: r.body } : {}),
      ...(r.size !== undefined ? { size: r.size } : {}),
      respond: (response) => {
        if (r.challenge) response.set('WWW-Authenticate', r.challenge);
        answer(req, response, r.http, r.id ?? req.get('user-identify') ?? '', r.code, r.detail);
      },
    });

  /** A new challenge whose nonce is remembered (single use) for nonceTtlMs. */
  const newChallenge = async (stale = false): Promise<string> =>
    (await nonces.challenge(realm)) + (stale ? ', stale=true' : '');

  /** The protocol's normal 401 (first request, expired nonce): no refusal, nothing kept. */
  const challenge = async (
    req: Request,
    res: Response,
    id: string,
    text: string,
    stale = false,
  ): Promise<void> => {
    res.set('WWW-Authenticate', await newChallenge(stale));
    answer(req, res, 401, id, STATUS.INVALID_OPERATION, text);
  };

  /** The registered sender of a request, or the 401 already answered. */
  const session = async (
    req: Request,
    res: Response,
    sender: string,
  ): Promise<RegisteredDevice | undefined> => {
    if (!isGat1400Id(sender)) {
      answer(
        req,
        res,
        401,
        sender,
        STATUS.INVALID_OPERATION,
        'User-Identify must be the 20-digit id of a registered device',
      );
      return undefined;
    }
    let stored: string | null;
    try {
      stored = await deps.cache.get(sessionKey(sender));
    } catch (err) {
      // Not the device's mistake: it sends again (a 500 would read as a fault of the request).
      log.warn({ err, gat1400Id: sender }, 'gat1400: session store unavailable');
      answer(req, res, 503, sender, STATUS.OTHER_ERROR, 'session store unavailable, retry');
      return undefined;
    }
    const device = stored ? deps.directory.byGat1400Id(sender) : undefined;
    if (!stored || !device || !device.active || sessionDeviceId(stored) !== device.deviceId) {
      answer(req, res, 401, sender, STATUS.INVALID_OPERATION, 'not registered: register again');
      return undefined;
    }
    return device;
  };

  // ---- System -------------------------------------------------------------------------------

  /**
   * Register and UnRegister are authenticated with HTTP Digest against the device's secret (one
   * fresh nonce per request). Answers the challenge or the refusal itself; undefined then.
   */
  const authenticateDigest = async (
    req: Request,
    res: Response,
    envelope: 'RegisterObject' | 'UnRegisterObject',
  ): Promise<{ id: string; device: RegisteredDevice } | undefined> => {
    const body = parseJson(req);
    if (body === INVALID) {
      await reject(req, res, {
        http: 400,
        code: STATUS.INVALID_JSON_FORMAT,
        reason: 'malformed',
        detail: 'body is not JSON',
      });
      return undefined;
    }
    const credentials = parseDigestAuthorization(req.get('authorization'));
    const id =
      str(field(body, envelope, 'DeviceID')) || req.get('user-identify') || credentials?.username || '';
    if (!credentials) {
      await challenge(req, res, id, 'authentication required');
      return undefined;
    }

    if (!isGat1400Id(id)) {
      await reject(req, res, {
        http: 400,
        code: STATUS.INVALID_JSON_CONTENT,
        reason: 'malformed',
        detail: `${envelope}.DeviceID must be 20 digits`,
        id,
      });
      return undefined;
    }
    const device = deps.directory.byGat1400Id(id);
    if (!device || !device.active) {
      await reject(req, res, {
        http: 403,
        code: STATUS.INVALID_OPERATION,
        reason: device ? 'inactive_device' : 'unknown_device',
        detail: `device ${id} is not registered with this platform`,
        id,
        ...(device ? { deviceId: device.deviceId } : {}),
      });
      return undefined;
    }
    const fresh = await consumeNonce(credentials, id);
    if (!fresh) {
      await challenge(req, res, id, 'nonce unknown, expired or already used', true);
      return undefined;
    }
    const secret = await deps.directory.secretOf(device.deviceId);
    if (secret === undefined) {
      await reject(req, res, {
        http: 403,
        code: STATUS.INVALID_OPERATION,
        reason: 'unsigned',
        detail: `device ${id} has no credentials`,
        id,
        deviceId: device.deviceId,
      });
      return undefined;
    }
    if (!uriMatches(credentials.uri, req) || !verifyDigest(credentials, req.method, secret)) {
      await reject(req, res, {
        http: 401,
        code: STATUS.INVALID_OPERATION,
        reason: 'bad_signature',
        detail: 'digest verification failed',
        id,
        deviceId: device.deviceId,
        challenge: await newChallenge(),
      });
      return undefined;
    }
    return { id, device };
  };

  viid.post('/System/Register', async (req, res) => {
    const authenticated = await authenticateDigest(req, res, 'RegisterObject');
    if (!authenticated) return;
    const { id, device } = authenticated;

    const receivedAt = deps.now();
    const value: Session = { deviceId: device.deviceId, registeredAt: receivedAt.toISOString() };
    await deps.cache.set(sessionKey(id), JSON.stringify(value), registrationTtlMs);
    // Registration is contact: the device is online from now. Its failure must not undo a valid
    // registration; the next keepalive records activity again.
    await deps.pipeline
      .heartbeat(device, { protocol: PROTOCOL, receivedAt })
      .catch((err: unknown) => log.warn({ err, gat1400Id: id }, 'gat1400: heartbeat on register failed'));
    log.info({ gat1400Id: id, deviceId: device.deviceId }, 'gat1400: registered');
    answer(req, res, 200, id, STATUS.OK, 'OK');
  });

  /**
   * Our nonce: consumed atomically, so each challenge is answered once on any replica. An empty
   * nonce (some cameras): the response value itself is made single-use.
   */
  const consumeNonce = async (credentials: DigestCredentials, id: string): Promise<boolean> => {
    if (credentials.nonce !== '') return nonces.consume(credentials.nonce);
    if (!acceptEmptyNonce) return false;
    const seen = createHash('sha256')
      .update(`${id}:${credentials.cnonce}:${credentials.nc}:${credentials.response}`)
      .digest('hex');
    return deps.cache.setIfAbsent(`gat1400:empty-nonce:${seen}`, '1', registrationTtlMs);
  };

  viid.post('/System/Keepalive', async (req, res) => {
    const body = parseJson(req);
    const sender = req.get('user-identify') || str(field(body, 'KeepaliveObject', 'DeviceID'));
    const device = await session(req, res, sender);
    if (!device) return;
    try {
      await deps.pipeline.heartbeat(device, { protocol: PROTOCOL, receivedAt: deps.now() });
    } catch (err) {
      log.warn({ err, gat1400Id: sender }, 'gat1400: keepalive not recorded');
      answer(req, res, 503, sender, STATUS.OTHER_ERROR, 'keepalive not recorded, retry');
      return;
    }
    answer(req, res, 200, sender, STATUS.OK, 'OK');
  });

  // Digest-authenticated like Register: otherwise anyone could end any camera's session.
  viid.post('/System/UnRegister', async (req, res) => {
    const authenticated = await authenticateDigest(req, res, 'UnRegisterObject');
    if (!authenticated) return;
    await deps.cache.delete(sessionKey(authenticated.id));
    log.info(
      { gat1400Id: authenticated.id, deviceId: authenticated.device.deviceId },
      'gat1400: unregistered',
    );
    answer(req, res, 200, authenticated.id, STATUS.OK, 'OK');
  });

  viid.get('/System/Time', (_req, res) => {
    send(res, 200, {
      SystemTimeObject: {
        VIIDServerID: deps.platformId,
        TimeMode: '1',
        LocalTime: formatGat1400Time(deps.now()),
        TimeZone: 'Asia/Shanghai',
      },
    });
  });

  // ---- objects ------------------------------------------------------------------------------

  /** Per-object refusals: kept in quarantine with the object and the reason, never fatal. */
  const quarantineItems = async (
    req: Request,
    sender: RegisteredDevice,
    bad: readonly { id: string; reason: string; item: unknown; code: number }[],
  ): Promise<void> => {
    await Promise.all(
      bad.map(({ id, reason, item, code }) =>
        deps.quarantine
          .keep({
            protocol: PROTOCOL,
            reason:
              `${code === STATUS.INVALID_OPERATION ? 'unknown_device' : 'invalid_event'}: ${id || '(no id)'}: ${reason}`.slice(
                0,
                1000,
              ),
            status: 200,
            remoteAddress: remoteAddressOf(req),
            path: req.originalUrl,
            contentType: req.get('content-type') ?? '',
            body: Buffer.from(JSON.stringify(item ?? null)),
            deviceId: sender.deviceId,
          })
          .catch((err: unknown) => log.warn({ err }, 'gat1400: quarantine failed')),
      ),
    );
  };

  /** A sender's request that cannot be read: 400 with the GA/T status code and why. */
  const malformed = (
    req: Request,
    res: Response,
    sender: RegisteredDevice,
    code: number,
    detail: string,
  ): Promise<void> =>
    reject(req, res, { http: 400, code, reason: 'malformed', detail, deviceId: sender.deviceId });

  /** The body of a request that must have one, or the refusal already answered. */
  const jsonBody = async (req: Request, res: Response, sender: RegisteredDevice): Promise<unknown> => {
    const body = parseJson(req);
    if (body === INVALID || body === undefined) {
      await malformed(
        req,
        res,
        sender,
        STATUS.INVALID_JSON_FORMAT,
        body === INVALID ? 'body is not JSON' : 'body is empty',
      );
      return INVALID;
    }
    return body;
  };

  /**
   * What every list endpoint (objects, Images, APEs) starts with: a registered sender, a JSON body
   * and its items as `parse` reads them — or undefined, the refusal already answered.
   */
  const listRequest = async (
    req: Request,
    res: Response,
    parse: (body: unknown) => unknown[] | { readonly failure: string },
  ): Promise<{ sender: RegisteredDevice; items: unknown[]; receivedAt: Date } | undefined> => {
    const receivedAt = deps.now();
    const sender = await session(req, res, req.get('user-identify') ?? '');
    if (!sender) return undefined;
    const body = await jsonBody(req, res, sender);
    if (body === INVALID) return undefined;
    const items = parse(body);
    if (!Array.isArray(items)) {
      await malformed(req, res, sender, STATUS.INVALID_JSON_CONTENT, items.failure);
      return undefined;
    }
    return { sender, items, receivedAt };
  };

  const lookup = (gat1400Id: string): RegisteredDevice | undefined => deps.directory.byGat1400Id(gat1400Id);

  const sendList = (req: Request, res: Response, http: number, answers: readonly Answer[]): void =>
    send(res, http, {
      ResponseStatusListObject: {
        ResponseStatusObject: answers.map((a) => status(req, a.id, a.code, a.text)),
      },
    });

  /**
   * POST adds a batch; PUT updates objects the device pushed (batch, or one at `/{ID}`). Events are
   * immutable facts: an update of an object already received is acknowledged and deduplicated by
   * its id (the first capture stands); one whose add never arrived is accepted as new.
   */
  const objects =
    (kind: Gat1400ObjectKind) =>
    async (req: Request, res: Response): Promise<void> => {
      const single = typeof req.params['id'] === 'string' ? req.params['id'] : undefined;
      const spec = GAT1400_KINDS[kind];
      const request = await listRequest(req, res, (body) => {
        if (single === undefined) return batchObjects(kind, body);
        const items = singleObject(kind, body);
        return !Array.isArray(items) || objectIdOf(kind, items[0]) === single
          ? items
          : { failure: `${spec.item}.${spec.idField} must be ${single}, the id in the path` };
      });
      if (!request) return;
      const { sender, items, receivedAt } = request;
      const mapped = items.map((item) => mapGat1400Object(kind, item, { sender, lookup }));
      const answers = await store(mapped, { protocol: PROTOCOL, receivedAt });
      const bad = mapped.flatMap((m, i) =>
        m.ok ? [] : [{ id: m.id, reason: m.reason, code: m.code, item: items[i] }],
      );
      await quarantineItems(req, sender, bad);
      const failedToStore = answers.some((a) => a.code === STATUS.OTHER_ERROR);
      if (bad.length > 0 || failedToStore)
        log.info(
          { sender: sender.gat1400Id, kind, objects: items.length, invalid: bad.length, failedToStore },
          'gat1400: batch answered with failures',
        );
      sendList(req, res, failedToStore ? 503 : 200, answers);
    };

  const deletion =
    (kind: Gat1400ObjectKind) =>
    async (req: Request, res: Response): Promise<void> => {
      const sender = await session(req, res, req.get('user-identify') ?? '');
      if (!sender) return;
      const single = typeof req.params['id'] === 'string' ? req.params['id'] : undefined;
      const ids = single === undefined ? deletionIds(queryParam(req, 'IDList')) : [single];
      if (!Array.isArray(ids)) {
        await malformed(req, res, sender, STATUS.INVALID_OPERATION, ids.failure);
        return;
      }
      const verdicts = ids.map((id) => checkDeletion(kind, id, { sender, lookup }));
      await quarantineItems(
        req,
        sender,
        verdicts.flatMap((v) =>
          v.ok ? [] : [{ id: v.id, reason: v.reason, code: v.code, item: { id: v.id } }],
        ),
      );
      sendList(
        req,
        res,
        200,
        verdicts.map((v) =>
          v.ok
            ? { id: v.id, code: STATUS.OK, text: 'OK: the platform keeps its record' }
            : { id: v.id, code: v.code, text: v.reason },
        ),
      );
    };

  /**
   * `POST /VIID/Images`: pictures with the objects found in them. The objects are stored as if
   * pushed to their own resources; each image is answered once: 0 when all its objects were stored
   * (or it had none), 8 with the first invalid object's reason (its valid objects are stored),
   * 1 when they could not be stored (HTTP 503, the device resends).
   */
  const images = async (req: Request, res: Response): Promise<void> => {
    const request = await listRequest(req, res, imageObjects);
    if (!request) return;
    const { sender, items, receivedAt } = request;
    const mapped = items.map((item) => mapGat1400Image(item, { sender, lookup }));
    const stored = await store(
      mapped.flatMap((m) => m.objects),
      { protocol: PROTOCOL, receivedAt },
    );
    let next = 0;
    const answers = mapped.map((m): Answer => {
      if (m.failure !== undefined) return { id: m.id, code: STATUS.INVALID_JSON_CONTENT, text: m.failure };
      const own = stored.slice(next, (next += m.objects.length));
      const bad = own.find((a) => a.code === STATUS.INVALID_JSON_CONTENT);
      if (bad) return { id: m.id, code: bad.code, text: `${bad.id || '(no id)'}: ${bad.text}` };
      const failed = own.find((a) => a.code !== STATUS.OK);
      return failed
        ? { id: m.id, code: failed.code, text: failed.text }
        : { id: m.id, code: STATUS.OK, text: 'OK' };
    });
    await quarantineItems(
      req,
      sender,
      answers.flatMap((a, i) =>
        a.code === STATUS.INVALID_JSON_CONTENT
          ? [{ id: a.id, reason: a.text, code: a.code, item: stripData(items[i]) }]
          : [],
      ),
    );
    sendList(req, res, answers.some((a) => a.code === STATUS.OTHER_ERROR) ? 503 : 200, answers);
  };

  /** The device catalogue a camera or collection system reports (POST adds, PUT updates). */
  const apes = async (req: Request, res: Response): Promise<void> => {
    const request = await listRequest(req, res, (body) => unwrap('apes', body));
    if (!request) return;
    const { sender, items, receivedAt } = request;
    const reports = items.map((item) => mapApe(item, { sender, lookup }));
    await quarantineItems(
      req,
      sender,
      reports.flatMap((r, i) => (r.ok ? [] : [{ id: r.id, reason: r.reason, code: r.code, item: items[i] }])),
    );
    // "Online" from the device's own report counts as contact (as a keepalive would); "offline"
    // is left to the heartbeat timeout, which a later keepalive or push overrides anyway.
    const answers = await Promise.all(
      reports.map(async (r): Promise<Answer> => {
        if (!r.ok) return { id: r.id, code: r.code, text: r.reason };
        if (r.online !== true) return { id: r.id, code: STATUS.OK, text: 'OK' };
        try {
          await deps.pipeline.heartbeat(r.device, { protocol: PROTOCOL, receivedAt });
          return { id: r.id, code: STATUS.OK, text: 'OK' };
        } catch (err) {
          log.warn({ err, gat1400Id: r.id }, 'gat1400: APE status not recorded');
          return { id: r.id, code: STATUS.OTHER_ERROR, text: 'not recorded, retry' };
        }
      }),
    );
    sendList(req, res, answers.some((a) => a.code === STATUS.OTHER_ERROR) ? 503 : 200, answers);
  };

  /**
   * Accepts the valid objects, one pipeline call per capturing device (a lower system's batch can
   * span several), and says per object what happened: 0 stored (or a known resend), 8 invalid,
   * 1 not stored — retry.
   */
  const store = async (mapped: readonly Gat1400Mapped[], context: AcceptContext): Promise<Answer[]> => {
    const groups = new Map<
      string,
      { device: RegisteredDevice; events: NormalisedEvent[]; keys: Set<string> }
    >();
    for (const m of mapped) {
      if (!m.ok) continue;
      const group = groups.get(m.device.deviceId) ?? {
        device: m.device,
        events: [],
        keys: new Set<string>(),
      };
      groups.set(m.device.deviceId, group);
      // The same object twice in one batch is one event.
      if (!group.keys.has(m.event.sourceKey)) {
        group.keys.add(m.event.sourceKey);
        group.events.push(m.event);
      }
    }
    const failed = new Set<string>();
    await Promise.all(
      [...groups.values()].map(async (g) => {
        try {
          await deps.pipeline.accept(g.device, g.events, context);
        } catch (err) {
          log.warn(
            { err, deviceId: g.device.deviceId, events: g.events.length },
            'gat1400: batch not stored',
          );
          failed.add(g.device.deviceId);
        }
      }),
    );
    return mapped.map((m) => {
      if (!m.ok) return { id: m.id, code: m.code, text: m.reason };
      if (failed.has(m.device.deviceId))
        return { id: m.id, code: STATUS.OTHER_ERROR, text: 'not stored, retry' };
      return { id: m.id, code: STATUS.OK, text: 'OK' };
    });
  };

  const paths: Readonly<Record<Gat1400ObjectKind, string>> = {
    faces: '/Faces',
    motorVehicles: '/MotorVehicles',
    persons: '/Persons',
  };
  for (const [kind, path] of Object.entries(paths) as [Gat1400ObjectKind, string][]) {
    viid.post(path, objects(kind));
    viid.put(path, objects(kind));
    viid.put(`${path}/:id`, objects(kind));
    viid.delete(path, deletion(kind));
    viid.delete(`${path}/:id`, deletion(kind));
    // Queries are for the platforms above us (police-upload serves them), not for devices.
    viid.get([path, `${path}/:id`], (req, res) => {
      res.set('Allow', 'POST, PUT, DELETE');
      answer(
        req,
        res,
        405,
        req.get('user-identify') ?? '',
        STATUS.INVALID_OPERATION,
        'this platform does not serve queries to devices',
      );
    });
  }
  viid.post('/Images', images);
  viid.post('/APEs', apes);
  viid.put('/APEs', apes);

  viid.use((req, res) => {
    answer(
      req,
      res,
      404,
      req.get('user-identify') ?? '',
      STATUS.INVALID_OPERATION,
      `${req.method} ${req.originalUrl.split('?')[0]} is not supported`,
    );
  });

  viid.use(async (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const refusal = bodyParserRefusal(err);
    if (refusal) {
      await reject(req, res, {
        http: refusal.status,
        code: STATUS.INVALID_JSON_FORMAT,
        reason: refusal.reason,
        detail: refusal.detail,
        ...(err instanceof BodyError ? { body: err.partial, size: err.size } : {}),
      });
      return;
    }
    log.error({ err, path: req.originalUrl }, 'gat1400: handler failed');
    if (!res.headersSent)
      answer(req, res, 500, req.get('user-identify') ?? '', STATUS.OTHER_ERROR, 'internal error');
  });

  const router = express.Router();
  router.use((req, res, next) => (req.baseUrl.toLowerCase() === '/viid' ? viid(req, res, next) : next()));
  router.use('/VIID', viid);
  return router;
}

createGat1400Router satisfies ProtocolRouterFactory;

// ---- request bodies ---------------------------------------------------------------------------

const INVALID = Symbol('invalid JSON');

interface Answer {
  readonly id: string;
  readonly code: number;
  readonly text: string;
}

/** The one object of a PUT to `/{ID}`: `{"FaceObject":{…}}`, the list envelope with one, or bare. */
function singleObject(kind: Gat1400ObjectKind, body: unknown): unknown[] | { readonly failure: string } {
  const spec = GAT1400_KINDS[kind];
  const items =
    typeof body === 'object' && body !== null && !(spec.list in body) && !(spec.item in body)
      ? [body]
      : batchObjects(kind, body);
  if (!Array.isArray(items)) {
    const inner = (body as Record<string, unknown> | null)?.[spec.item];
    if (typeof inner === 'object' && inner !== null && !Array.isArray(inner)) return [inner];
    return items;
  }
  return items.length === 1 ? items : { failure: `a PUT to /{ID} carries one ${spec.item}` };
}

/** An ImageObject as kept in quarantine: without its (megabytes of) picture data. */
function stripData(item: unknown): unknown {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
  const { Data: data, ...rest } = item as Record<string, unknown>;
  return data === undefined ? rest : { ...rest, Data: `(${String(data).length} base64 characters)` };
}

function queryParam(req: Request, name: string): unknown {
  const query = req.query as Record<string, unknown>;
  const key = Object.keys(query).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : query[key];
}

/** The device a stored session was opened for; undefined for an unreadable entry. */
function sessionDeviceId(stored: string): string | undefined {
  try {
    return (JSON.parse(stored) as Partial<Session>).deviceId;
  } catch {
    return undefined;
  }
}

/** The JSON body; undefined when there is none; INVALID when it is not JSON. */
function parseJson(req: Request): unknown {
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body)) return body; // absent, or parsed already by the listener
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8').replace(/^\uFEFF/, '')) as unknown;
  } catch {
    return INVALID;
  }
}

function field(body: unknown, envelope: string, name: string): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  const inner = (body as Record<string, unknown>)[envelope];
  return typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>)[name] : undefined;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
}

/** The Digest `uri` must name this request (cameras may send it absolute or with a query). */
function uriMatches(uri: string, req: Request): boolean {
  try {
    const path = new URL(uri, 'http://device.invalid').pathname.toLowerCase().replace(/\/+$/, '');
    return path === (req.originalUrl.split('?')[0] ?? '').toLowerCase().replace(/\/+$/, '');
  } catch {
    return false;
  }
}
