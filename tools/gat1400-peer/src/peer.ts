/**
 * A GA/T 1400 upper platform (视图库) for conformance tests, e2e and benchmarks: Digest Register,
 * Keepalive, UnRegister and Time; receivers for Faces, MotorVehicles, Persons, APEs, the community
 * extensions (DoorDevices, PersonInfos, HouseInfos, CarInfos), SubscribeNotifications and
 * DispositionNotifications that validate
 * strictly and answer one
 * ResponseStatus per object; every received object counted by id (duplicates are visible);
 * switches to go down, answer errors, stay silent or fail chosen objects; and the commands an
 * upper platform sends down (Subscribes, Dispositions), Digest-authenticated.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  callGat1400,
  CONTENT_TYPE,
  ENVELOPES,
  formatDigestChallenge,
  formatGat1400Time,
  idOf,
  isGat1400Id,
  isObj,
  newDigestChallenge,
  parseDigestAuthorization,
  responseStatus,
  STATUS,
  unwrap,
  VALIDATORS,
  verifyDigest,
  wrap,
  type CallResult,
  type EnvelopeName,
  type Obj,
} from '@anfang/gat1400';

/** Receivers of the peer. */
export const RECEIVED_KINDS = [
  'faces',
  'motorVehicles',
  'persons',
  'apes',
  'doorDevices',
  'personInfos',
  'houseInfos',
  'carInfos',
  'subscribeNotifications',
  'dispositionNotifications',
] as const satisfies readonly EnvelopeName[];
export type ReceivedKind = (typeof RECEIVED_KINDS)[number];

/**
 * `up`: normal. `down`: the port is closed (connection refused). `error`: every call answers 503
 * with StatusCode 1. `silent`: requests are read and never answered (the sender's timeout).
 */
export type PeerMode = 'up' | 'down' | 'error' | 'silent';

export interface PeerOptions {
  /** 0 (default) picks a free port; restarts keep the port. */
  readonly port?: number;
  readonly host?: string;
  /** The peer's own 20-digit id (VIIDServerID, its User-Identify on commands). */
  readonly platformId: string;
  /** Lower platforms allowed to register: 20-digit id → password. */
  readonly users: Readonly<Record<string, string>>;
  /** A registration holds this long; then keepalives get 401. */
  readonly registrationTtlMs?: number;
  /** Added to the clock /VIID/System/Time reports (drift tests). */
  readonly clockOffsetMs?: number;
}

export interface ReceivedObject {
  readonly kind: ReceivedKind;
  readonly id: string;
  readonly sender: string;
  readonly receivedAt: number;
  readonly object: Obj;
}

export interface PeerStats {
  readonly registers: number;
  readonly keepalives: number;
  readonly unregisters: number;
  /** Objects accepted, first copies only. */
  readonly unique: number;
  /** Accepted copies beyond the first, by id. */
  readonly duplicates: number;
  /** Objects refused as invalid content. */
  readonly invalid: number;
}

export interface Gat1400Peer {
  readonly url: string;
  readonly port: number;
  readonly platformId: string;
  mode(mode: PeerMode): Promise<void>;
  /** Answer `code` for these object ids (`times` answers, default every time). */
  failObjects(ids: readonly string[], code?: number, times?: number): void;
  /** Forget every registration: the next keepalive is answered 401. */
  expireSessions(): void;
  /** Close and listen again on the same port with no sessions (a peer restart). */
  restart(): Promise<void>;
  isRegistered(lowerId: string): boolean;
  /** Accepted objects of a kind, every copy, in arrival order. */
  received(kind: ReceivedKind): readonly ReceivedObject[];
  /** How often each id of a kind was accepted. */
  counts(kind: ReceivedKind): ReadonlyMap<string, number>;
  /** Refusals with their reasons. */
  readonly rejections: { kind: string; id: string; reasons: string[] }[];
  stats(): PeerStats;
  waitFor(predicate: () => boolean, timeoutMs: number, what?: string): Promise<void>;
  /**
   * Send a command down (POST/PUT) or query (GET, `body` undefined) under `lowerBase` (…/VIID),
   * Digest with `credentials`.
   */
  command(
    lowerBase: string,
    path: string,
    body: unknown,
    credentials: { username: string; password: string },
    method?: 'POST' | 'PUT' | 'GET',
  ): Promise<CallResult>;
  close(): Promise<void>;
}

export async function startGat1400Peer(options: PeerOptions): Promise<Gat1400Peer> {
  const ttl = options.registrationTtlMs ?? 3600_000;
  const realm = options.platformId;
  const sessions = new Map<string, number>();
  const nonces = new Set<string>();
  const failures = new Map<string, { code: number; left: number }>();
  const received = new Map<ReceivedKind, ReceivedObject[]>(RECEIVED_KINDS.map((k) => [k, []]));
  const counts = new Map<ReceivedKind, Map<string, number>>(RECEIVED_KINDS.map((k) => [k, new Map()]));
  const rejections: Gat1400Peer['rejections'] = [];
  const tally = { registers: 0, keepalives: 0, unregisters: 0, invalid: 0 };
  let current: PeerMode = 'up';
  const hanging = new Set<Response>();

  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    if (current === 'error') return answer(req, res, 503, '', STATUS.OTHER_ERROR, 'peer answering errors');
    if (current === 'silent') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    next();
  });
  app.use(express.json({ type: () => true, limit: '64mb' }));

  function answer(req: Request, res: Response, http: number, id: string, code: number, text: string): void {
    res
      .status(http)
      .type(CONTENT_TYPE)
      .send(JSON.stringify({ ResponseStatusObject: responseStatus(id, req.path, code, text, new Date()) }));
  }

  const registered = (id: string): boolean => {
    const at = sessions.get(id);
    return at !== undefined && Date.now() - at < ttl;
  };

  const digest = (req: Request, res: Response, envelope: string): string | undefined => {
    const body: unknown = req.body;
    const inner = isObj(body) ? body[envelope] : undefined;
    const id = String((isObj(inner) ? inner.DeviceID : undefined) ?? req.get('user-identify') ?? '');
    const credentials = parseDigestAuthorization(req.get('authorization'));
    const challenge = (text: string): void => {
      const c = newDigestChallenge(realm);
      nonces.add(c.nonce);
      res.set('WWW-Authenticate', formatDigestChallenge(c));
      answer(req, res, 401, id, STATUS.INVALID_OPERATION, text);
    };
    if (!credentials) return void challenge('authentication required');
    if (!nonces.delete(credentials.nonce)) return void challenge('nonce unknown or used');
    const password = options.users[credentials.username];
    if (!isGat1400Id(id) || credentials.username !== id || password === undefined)
      return void answer(req, res, 403, id, STATUS.INVALID_OPERATION, `${id} may not register here`);
    if (credentials.uri !== req.originalUrl || !verifyDigest(credentials, req.method, password))
      return void challenge('digest verification failed');
    return id;
  };

  app.post('/VIID/System/Register', (req, res) => {
    const id = digest(req, res, 'RegisterObject');
    if (!id) return;
    sessions.set(id, Date.now());
    tally.registers += 1;
    answer(req, res, 200, id, STATUS.OK, 'OK');
  });

  app.post('/VIID/System/Keepalive', (req, res) => {
    const body: unknown = req.body;
    const inner = isObj(body) ? body.KeepaliveObject : undefined;
    const id = String((isObj(inner) ? inner.DeviceID : undefined) ?? '');
    if (!isGat1400Id(id) || id !== req.get('user-identify'))
      return answer(
        req,
        res,
        400,
        id,
        STATUS.INVALID_JSON_CONTENT,
        'KeepaliveObject.DeviceID must be the sender',
      );
    if (!registered(id)) return answer(req, res, 401, id, STATUS.INVALID_OPERATION, 'not registered');
    tally.keepalives += 1;
    answer(req, res, 200, id, STATUS.OK, 'OK');
  });

  app.post('/VIID/System/UnRegister', (req, res) => {
    const id = digest(req, res, 'UnRegisterObject');
    if (!id) return;
    sessions.delete(id);
    tally.unregisters += 1;
    answer(req, res, 200, id, STATUS.OK, 'OK');
  });

  app.get('/VIID/System/Time', (_req, res) => {
    res.type(CONTENT_TYPE).send(
      JSON.stringify({
        SystemTimeObject: {
          VIIDServerID: options.platformId,
          TimeMode: '1',
          LocalTime: formatGat1400Time(new Date(Date.now() + (options.clockOffsetMs ?? 0))),
          TimeZone: 'Asia/Shanghai',
        },
      }),
    );
  });

  for (const kind of RECEIVED_KINDS) {
    app.post(`/VIID${ENVELOPES[kind].path}`, (req, res) => {
      const sender = req.get('user-identify') ?? '';
      if (!registered(sender))
        return answer(req, res, 401, sender, STATUS.INVALID_OPERATION, 'not registered');
      const items = unwrap(kind, req.body);
      if (!Array.isArray(items))
        return answer(req, res, 400, sender, STATUS.INVALID_JSON_CONTENT, items.failure);
      const statuses = items.map((item) => {
        const id = idOf(kind, item);
        const problems = isObj(item) ? VALIDATORS[kind]!(item) : ['not an object'];
        if (problems.length > 0) {
          tally.invalid += 1;
          rejections.push({ kind, id, reasons: problems });
          return responseStatus(id, req.path, STATUS.INVALID_JSON_CONTENT, problems.join('; '), new Date());
        }
        const failure = failures.get(id);
        if (failure && failure.left > 0) {
          failure.left -= 1;
          return responseStatus(id, req.path, failure.code, 'failed on purpose', new Date());
        }
        received.get(kind)!.push({ kind, id, sender, receivedAt: Date.now(), object: item as Obj });
        const byId = counts.get(kind)!;
        byId.set(id, (byId.get(id) ?? 0) + 1);
        return responseStatus(id, req.path, STATUS.OK, 'OK', new Date());
      });
      res
        .status(200)
        .type(CONTENT_TYPE)
        .send(JSON.stringify({ ResponseStatusListObject: { ResponseStatusObject: statuses } }));
    });
  }

  app.use((req: Request, res: Response) =>
    answer(req, res, 404, '', STATUS.INVALID_OPERATION, `${req.method} ${req.path} is not supported`),
  );
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const tooLarge = (err as { type?: string }).type === 'entity.too.large';
    answer(
      req,
      res,
      tooLarge ? 413 : 400,
      '',
      STATUS.INVALID_JSON_FORMAT,
      tooLarge ? 'body too large' : 'body is not JSON',
    );
  });

  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = options.port ?? 0;
  const host = options.host ?? '127.0.0.1';

  const listen = async (): Promise<void> => {
    const s = createServer(app);
    s.keepAliveTimeout = 30_000;
    s.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => resolve());
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (!s) return;
    for (const res of hanging) res.destroy();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();

  const peer: Gat1400Peer = {
    get url() {
      return `http://${host}:${port}`;
    },
    get port() {
      return port;
    },
    platformId: options.platformId,
    async mode(next) {
      const was = current;
      current = next;
      if (next === 'down' && was !== 'down') await stop();
      if (next !== 'down' && was === 'down') await listen();
      if (next !== 'silent') for (const res of hanging) res.destroy();
    },
    failObjects(ids, code = STATUS.OTHER_ERROR, times = Number.POSITIVE_INFINITY) {
      for (const id of ids) failures.set(id, { code, left: times });
    },
    expireSessions() {
      sessions.clear();
    },
    async restart() {
      await stop();
      sessions.clear();
      nonces.clear();
      await listen();
    },
    isRegistered: registered,
    received: (kind) => received.get(kind)!,
    counts: (kind) => counts.get(kind)!,
    rejections,
    stats() {
      let unique = 0;
      let duplicates = 0;
      for (const byId of counts.values())
        for (const n of byId.values()) {
          unique += 1;
          duplicates += n - 1;
        }
      return { ...tally, unique, duplicates };
    },
    async waitFor(predicate, timeoutMs, what = 'condition') {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline)
          throw new Error(`gat1400-peer: timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    command(lowerBase, path, body, credentials, method = 'POST') {
      return callGat1400(`${lowerBase.replace(/\/+$/, '')}${path}`, {
        method,
        ...(method === 'GET' ? {} : { body }),
        userIdentify: options.platformId,
        timeoutMs: 10_000,
        digest: credentials,
      });
    },
    close: stop,
  };
  return peer;
}

/** A random password for tests. */
export const newPassword = (): string => randomBytes(12).toString('base64url');

/** `{SubscribeListObject:{SubscribeObject:[…]}}` and `{DispositionListObject:…}` for commands. */
export const subscribeBody = (...subscriptions: Obj[]): Obj => wrap('subscribes', subscriptions);
export const dispositionBody = (...dispositions: Obj[]): Obj => wrap('dispositions', dispositions);
