/**
 * The endpoints an upper platform calls on us (GA/T 1400, under /VIID on HTTP_PORT):
 * `POST /VIID/Dispositions` (set or withdraw, a list), `PUT /VIID/Dispositions/{ID}` (withdraw),
 * `GET /VIID/Dispositions[/{ID}]` (the platform's dispositions and their status),
 * `POST /VIID/Subscribes` (subscribe or cancel, a list), `PUT /VIID/Subscribes/{ID}` (cancel).
 * Every call is HTTP Digest authenticated as the platform (User-Identify = its 20-digit id,
 * the password of its password_ref); nonces are single-use, short-lived and kept in the shared
 * cache, so a challenge from one replica is answered at another. Each disposition is
 * answered in a ResponseStatusListObject — with identity's or vehicle-access's result when it
 * arrives within POLICE_UPLOAD_COMMAND_RESULT_WAIT_MS — and recorded with the command it became.
 */
import type { Request, Response, Router } from 'express';
import {
  CONTENT_TYPE,
  digestNonces,
  isObj,
  parseDigestAuthorization,
  parseQueryConditions,
  responseStatus,
  STATUS,
  unwrap,
  verifyDigest,
  wrap,
  type NonceCache,
  type Obj,
} from '@anfang/gat1400';
import type { Logger } from '@anfang/platform/log';
import { dispositionObject, dispositionQuery, parseDisposition } from '../domain/dispositions.ts';
import { parseSubscribe } from '../domain/subscriptions.ts';
import type { CommandResult, CommandStore } from '../store/commands.ts';
import type { SubscriptionStore } from '../store/subscriptions.ts';
import type { Platform, PlatformStore } from '../store/platforms.ts';
import type { SecretResolver } from '../upload/secrets.ts';

const NONCE_TTL_MS = 300_000;

export function viidRoutes(deps: {
  readonly platforms: PlatformStore;
  readonly secrets: SecretResolver;
  readonly commands: CommandStore;
  readonly subscriptions: SubscriptionStore;
  /** The shared cache: Digest nonces, so that every replica accepts the others' challenges. */
  readonly cache: NonceCache;
  readonly lowerId: string;
  readonly producer: string;
  /** How long a disposition's answer waits for identity's or vehicle-access's result. */
  readonly resultWaitMs: number;
  readonly logger: Logger;
}): (router: Router) => void {
  const log = deps.logger.child({ component: 'viid' });
  const nonces = digestNonces(deps.cache, NONCE_TTL_MS);

  const answer = (
    req: Request,
    res: Response,
    http: number,
    id: string,
    code: number,
    text: string,
  ): void => {
    res
      .status(http)
      .type(CONTENT_TYPE)
      .send(JSON.stringify({ ResponseStatusObject: responseStatus(id, req.path, code, text, new Date()) }));
  };

  /** The platform calling, Digest verified; otherwise answered (401 challenge or 403). */
  async function authenticate(req: Request, res: Response): Promise<Platform | undefined> {
    const sender = req.get('user-identify') ?? '';
    const challenge = async (text: string): Promise<void> => {
      res.set('WWW-Authenticate', await nonces.challenge('anfang'));
      answer(req, res, 401, sender, STATUS.INVALID_OPERATION, text);
    };
    const credentials = parseDigestAuthorization(req.get('authorization'));
    if (!credentials) return void (await challenge('authentication required'));
    if (!(await nonces.consume(credentials.nonce)))
      return void (await challenge('nonce unknown, expired or used'));
    const platform = await deps.platforms.get(credentials.username);
    const password = platform?.enabled ? await deps.secrets(platform.passwordRef) : undefined;
    if (!platform || password === undefined || credentials.uri !== req.originalUrl) {
      log.warn({ sender }, 'command from an unknown or disabled platform refused');
      return void answer(
        req,
        res,
        403,
        sender,
        STATUS.INVALID_OPERATION,
        'not an upper platform of this system',
      );
    }
    if (!verifyDigest(credentials, req.method, password))
      return void (await challenge('digest verification failed'));
    return platform;
  }

  /**
   * A disposition's answer carries the downstream result when it comes in time: refused by
   * identity or vehicle-access → INVALID_OPERATION with their reason; a later result stays
   * recorded with the command.
   */
  const resultStatus = (req: Request, dispositionId: string, result: CommandResult) =>
    result.outcome === 'rejected'
      ? responseStatus(
          dispositionId,
          req.path,
          STATUS.INVALID_OPERATION,
          result.detail || 'refused',
          new Date(),
        )
      : responseStatus(
          dispositionId,
          req.path,
          STATUS.OK,
          result.outcome === 'applied' ? 'OK' : 'accepted, being applied',
          new Date(),
        );

  async function dispositions(req: Request, res: Response, withdrawId?: string): Promise<void> {
    const platform = await authenticate(req, res);
    if (!platform) return;
    const items = withdrawId
      ? [isObj(req.body) ? (req.body.DispositionObject ?? req.body) : {}]
      : unwrap('dispositions', req.body);
    if (!Array.isArray(items)) return answer(req, res, 400, '', STATUS.INVALID_JSON_CONTENT, items.failure);
    // Every command is recorded (and published) first; then the answers wait for the results
    // together, so a list costs one wait, not one per disposition.
    const pending = [];
    for (const item of items) {
      const parsed = parseDisposition(isObj(item) ? item : {}, withdrawId);
      if (!parsed.ok) {
        pending.push(responseStatus(parsed.id, req.path, parsed.code, parsed.reason, new Date()));
        continue;
      }
      const commandId = await deps.commands.disposition(
        platform.platformId,
        parsed,
        item as Obj,
        deps.producer,
      );
      log.info(
        {
          platformId: platform.platformId,
          dispositionId: parsed.dispositionId,
          commandId,
          operation: parsed.operation,
        },
        'disposition received',
      );
      pending.push(
        deps.commands
          .awaitResult(commandId, deps.resultWaitMs)
          .then((result) => resultStatus(req, parsed.dispositionId, result)),
      );
    }
    const statuses = await Promise.all(pending);
    res
      .status(200)
      .type(CONTENT_TYPE)
      .send(JSON.stringify({ ResponseStatusListObject: { ResponseStatusObject: statuses } }));
  }

  async function subscribes(req: Request, res: Response, cancelId?: string): Promise<void> {
    const platform = await authenticate(req, res);
    if (!platform) return;
    const items = cancelId
      ? [isObj(req.body) ? (req.body.SubscribeObject ?? req.body) : {}]
      : unwrap('subscribes', req.body);
    if (!Array.isArray(items)) return answer(req, res, 400, '', STATUS.INVALID_JSON_CONTENT, items.failure);
    const statuses = [];
    for (const item of items) {
      const parsed = parseSubscribe(isObj(item) ? item : {}, deps.lowerId, cancelId);
      if (!parsed.ok) {
        statuses.push(responseStatus(parsed.id, req.path, parsed.code, parsed.reason, new Date()));
        continue;
      }
      if (parsed.operation === 'subscribe') {
        await deps.subscriptions.subscribe(platform.platformId, parsed.subscription, item);
        statuses.push(responseStatus(parsed.subscription.subscribeId, req.path, STATUS.OK, 'OK', new Date()));
      } else {
        const found = await deps.subscriptions.cancel(platform.platformId, parsed.subscribeId, item);
        statuses.push(
          found
            ? responseStatus(parsed.subscribeId, req.path, STATUS.OK, 'OK', new Date())
            : responseStatus(
                parsed.subscribeId,
                req.path,
                STATUS.INVALID_OPERATION,
                'no such subscription',
                new Date(),
              ),
        );
      }
      log.info({ platformId: platform.platformId, operation: parsed.operation }, 'subscription command');
    }
    res
      .status(200)
      .type(CONTENT_TYPE)
      .send(JSON.stringify({ ResponseStatusListObject: { ResponseStatusObject: statuses } }));
  }

  /**
   * `GET /VIID/Dispositions/{ID}` → `{DispositionObject}`; `GET /VIID/Dispositions?conditions` →
   * `{DispositionListObject}`: the calling platform's own dispositions with their status.
   */
  async function queryDispositions(req: Request, res: Response, id?: string): Promise<void> {
    const platform = await authenticate(req, res);
    if (!platform) return;
    // The raw query: express' parsed req.query would split `(A.B=1 AND A.C=2)` wrongly.
    const q = req.originalUrl.indexOf('?');
    const conditions = parseQueryConditions(q < 0 ? '' : req.originalUrl.slice(q));
    const query = 'failure' in conditions ? conditions : dispositionQuery(conditions);
    if ('failure' in query) return answer(req, res, 400, id ?? '', STATUS.INVALID_OPERATION, query.failure);
    const found = await deps.commands.dispositions(
      platform.platformId,
      id === undefined ? query : { dispositionId: id, offset: 0, limit: 1 },
    );
    const now = new Date();
    if (id === undefined)
      return void res
        .status(200)
        .type(CONTENT_TYPE)
        .send(
          JSON.stringify(
            wrap(
              'dispositions',
              found.map((d) => dispositionObject(d, now)),
            ),
          ),
        );
    const disposition = found[0];
    if (!disposition) return answer(req, res, 404, id, STATUS.INVALID_OPERATION, 'no such disposition');
    res
      .status(200)
      .type(CONTENT_TYPE)
      .send(JSON.stringify({ DispositionObject: dispositionObject(disposition, now) }));
  }

  return (router) => {
    router.get('/VIID/Dispositions', (req, res, next) => queryDispositions(req, res).catch(next));
    router.get('/VIID/Dispositions/:id', (req, res, next) =>
      queryDispositions(req, res, String(req.params.id)).catch(next),
    );
    router.post('/VIID/Subscribes', (req, res, next) => subscribes(req, res).catch(next));
    router.put('/VIID/Subscribes/:id', (req, res, next) =>
      subscribes(req, res, String(req.params.id)).catch(next),
    );
    router.post('/VIID/Dispositions', (req, res, next) => dispositions(req, res).catch(next));
    router.put('/VIID/Dispositions/:id', (req, res, next) =>
      dispositions(req, res, String(req.params.id)).catch(next),
    );
  };
}
