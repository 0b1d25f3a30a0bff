/**
 * The link with one upper platform: the GA/T 1400 session (Digest Register, Keepalive on
 * schedule, re-register on 401 or after the configured misses, time check with the drift
 * reported, UnRegister on stop) and the senders that drain the platform's outbox in batches.
 *
 * Failure handling follows what lower platforms do in the field: no answer within the timeout →
 * the batch is retried; after repeated transport failures the link stops sending (the outbox
 * buffers), re-registers, and then back-fills oldest first. Per-object statuses decide per object
 * (domain/delivery.ts).
 */
import {
  callGat1400,
  ENVELOPES,
  idOf,
  parseGat1400Time,
  parseStatuses,
  wrap,
  type CallResult,
  type Obj,
} from '@anfang/gat1400';
import type { Logger } from '@anfang/platform/log';
import type { ObjectStore } from '@anfang/platform/objects';
import { backoffMs, verdicts } from '../domain/delivery.ts';
import type { OutboxRow, OutboxStore, Settlement } from '../store/outbox.ts';
import type { Platform, PlatformStore, SessionState } from '../store/platforms.ts';
import type { UploadMetrics } from './metrics.ts';

export interface LinkOptions {
  readonly lowerId: string;
  readonly producer: string;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly requestTimeoutMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly pollMs: number;
}

export interface LinkDeps {
  readonly platform: Platform;
  readonly password: string;
  readonly dispatcher?: unknown;
  readonly outbox: OutboxStore;
  readonly platforms: PlatformStore;
  /** Reads picture bytes by their full bucket key. */
  readonly images: Pick<ObjectStore, 'get'>;
  /** Opens the personal data sealed in a body (domain/sealed.ts) right before it is sent. */
  readonly reveal: (body: Obj) => Obj;
  readonly metrics: UploadMetrics;
  readonly logger: Logger;
  readonly options: LinkOptions;
}

export interface PlatformLink {
  readonly platformId: string;
  readonly state: () => SessionState;
  /** New objects are waiting: idle senders look now. */
  wake(): void;
  stop(): Promise<void>;
}

/** Transport failures in a row after which the link pauses and registers again. */
const FAILURES_BEFORE_REREGISTER = 3;

export function startPlatformLink(deps: LinkDeps): PlatformLink {
  const { platform, options, outbox, metrics } = deps;
  const log = deps.logger.child({ component: 'link', platformId: platform.platformId });
  const base = `${platform.baseUrl.replace(/\/+$/, '')}/VIID`;
  let stopped = false;
  let session: SessionState = { state: 'unregistered', failures: 0, lastError: '' };
  let registered = false;
  let keepaliveMisses = 0;
  let transportFailures = 0;
  let pausedUntil = 0;
  let waiters: (() => void)[] = [];
  let writes: Promise<void> = Promise.resolve();

  const wake = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      waiters.push(done);
    });

  /** A path under the platform's /VIID, or a full URL (a ReceiveAddr). */
  const call = (path: string, body?: unknown, digest = false): Promise<CallResult> =>
    callGat1400(/^https?:\/\//.test(path) ? path : `${base}${path}`, {
      ...(body !== undefined ? { body } : {}),
      userIdentify: options.lowerId,
      timeoutMs: options.requestTimeoutMs,
      ...(digest ? { digest: { username: platform.username, password: deps.password } } : {}),
      ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    });

  const record = (next: Partial<SessionState>): void => {
    session = { ...session, ...next };
    metrics.session(platform.platformId, session.state);
    // One write at a time, in order: the row always ends with the latest state.
    const snapshot = session;
    writes = writes
      .then(() => deps.platforms.recordSession(platform.platformId, snapshot))
      .catch((err: unknown) => log.warn({ err }, 'session state not recorded'));
  };
  const failed = (what: string, err: unknown): void => {
    const message = err instanceof Error ? err.message : String(err);
    record({
      state: registered ? 'degraded' : 'unregistered',
      failures: session.failures + 1,
      lastFailureAt: new Date(),
      lastError: `${what}: ${message}`,
    });
  };

  const okStatus = (r: CallResult): boolean =>
    r.status >= 200 && r.status < 300 && parseStatuses(r.body).every((s) => s.code === 0);

  async function register(): Promise<boolean> {
    try {
      const r = await call('/System/Register', { RegisterObject: { DeviceID: options.lowerId } }, true);
      if (!okStatus(r))
        throw new Error(`Register answered HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      registered = true;
      keepaliveMisses = 0;
      transportFailures = 0;
      pausedUntil = 0;
      record({ state: 'registered', registeredAt: new Date(), lastError: '' });
      log.info('registered');
      await checkTime();
      wake();
      return true;
    } catch (err) {
      registered = false;
      failed('register', err);
      return false;
    }
  }

  async function checkTime(): Promise<void> {
    try {
      const sent = Date.now();
      const r = await call('/System/Time');
      const received = Date.now();
      const body = r.body as { SystemTimeObject?: { LocalTime?: unknown } } | undefined;
      const theirs = parseGat1400Time(body?.SystemTimeObject?.LocalTime);
      if (!theirs) throw new Error('SystemTimeObject.LocalTime is missing or not yyyyMMddHHmmss');
      // Whole seconds on the wire: compare with the middle of our round trip, rounded the same way.
      const ours = Math.floor((sent + received) / 2 / 1000) * 1000;
      const offset = theirs.getTime() - ours;
      metrics.clockOffset(platform.platformId, offset);
      record({ clockOffsetMs: offset, clockCheckedAt: new Date() });
      if (Math.abs(offset) > 1000)
        log.warn({ offsetMs: offset }, 'upper platform clock differs by more than 1 s');
    } catch (err) {
      log.warn({ err }, 'time check failed');
    }
  }

  async function keepalive(): Promise<void> {
    if (!registered) {
      await register();
      return;
    }
    try {
      const r = await call('/System/Keepalive', { KeepaliveObject: { DeviceID: options.lowerId } });
      if (r.status === 401) {
        log.info('keepalive answered 401: registering again');
        registered = false;
        record({ state: 'unregistered' });
        await register();
        return;
      }
      if (!okStatus(r)) throw new Error(`Keepalive answered HTTP ${r.status}`);
      keepaliveMisses = 0;
      record({ state: 'registered', lastKeepaliveAt: new Date() });
    } catch (err) {
      keepaliveMisses += 1;
      failed('keepalive', err);
      if (keepaliveMisses >= platform.keepaliveMisses) {
        registered = false;
        record({ state: 'unregistered' });
      }
    }
  }

  // ---- senders ------------------------------------------------------------------------------

  async function fetchImages(row: OutboxRow): Promise<Obj[]> {
    const list = await Promise.all(
      row.images.map(async (image) => {
        try {
          return { ...image.info, Data: (await deps.images.get(image.objectKey)).toString('base64') };
        } catch (err) {
          // A picture past its retention is gone for good: the object goes without it (the
          // receiver decides whether that is acceptable).
          if ((err as Error).name === 'ObjectNotFoundError') return undefined;
          throw err;
        }
      }),
    );
    return list.filter((x): x is Obj & { Data: string } => x !== undefined);
  }

  async function sendGroup(rows: readonly OutboxRow[]): Promise<'ok' | 'transport' | 'unauthorised'> {
    const kind = rows[0]!.kind;
    const objects = await Promise.all(
      rows.map(async (row) => {
        const images = await fetchImages(row);
        const body = deps.reveal(row.body);
        if (images.length === 0) return body;
        const list = { SubImageList: { SubImageInfoObject: images } };
        const into = row.images[0]?.into;
        return into ? placeAt(body, into.split('.'), list) : { ...body, ...list };
      }),
    );
    const started = Date.now();
    let r: CallResult;
    try {
      r = await call(rows[0]!.targetUrl || ENVELOPES[kind].path, wrap(kind, objects));
    } catch (err) {
      failed('upload', err);
      return 'transport';
    }
    metrics.requestLatency(platform.platformId, Date.now() - started);
    if (r.status === 401) return 'unauthorised';
    if (r.status < 200 || r.status >= 300) {
      failed('upload', new Error(`HTTP ${r.status}`));
      return 'transport';
    }
    const now = new Date();
    // By the id the receiver answers with: a device's state (APE) is one outbox row per
    // revision but one ApeID on the wire.
    const settlements: Settlement[] = verdicts(
      rows.map((row) => idOf(kind, row.body) || row.objectId),
      parseStatuses(r.body),
    ).map((v, i) => {
      const row = rows[i]!;
      return v.outcome === 'retry'
        ? {
            row,
            ...v,
            retryAt: new Date(
              now.getTime() + backoffMs(row.attempts, options.retryBaseMs, options.retryMaxMs),
            ),
          }
        : { row, ...v };
    });
    await outbox.settle(settlements, options.producer);
    metrics.settled(platform.platformId, settlements, now.getTime());
    return 'ok';
  }

  async function sendBatch(rows: readonly OutboxRow[]): Promise<void> {
    const groups = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const key = `${row.kind} ${row.targetUrl}`;
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    const results = await Promise.all(
      [...groups.values()].map(async (group) => ({ group, result: await sendGroup(group) })),
    );
    const giveBack = results.filter((x) => x.result !== 'ok').flatMap((x) => x.group);
    if (results.some((x) => x.result === 'unauthorised')) {
      log.info('upload answered 401: registering again');
      await outbox.release(giveBack, new Date());
      reregister();
      return;
    }
    if (results.some((x) => x.result === 'transport')) {
      transportFailures += 1;
      const pause = backoffMs(transportFailures, options.retryBaseMs, options.retryMaxMs);
      pausedUntil = Date.now() + pause;
      // Due again at once: the pause holds this replica's senders back, and when it ends they
      // claim by id, oldest first. (Released at the pause's end instead, a batch whose failure
      // drew a longer jittered pause than the next failure's waited behind younger rows.)
      await outbox.release(giveBack, new Date());
      if (transportFailures >= FAILURES_BEFORE_REREGISTER && registered) {
        log.warn({ failures: transportFailures }, 'uploads failing: buffering, will register again');
        reregister();
      }
      return;
    }
    transportFailures = 0;
    if (session.state !== 'registered') record({ state: 'registered' });
  }

  async function sender(): Promise<void> {
    while (!stopped) {
      try {
        if (!registered || Date.now() < pausedUntil) {
          await sleep(Math.max(options.pollMs, pausedUntil - Date.now()));
          continue;
        }
        const rows = await outbox.claim(platform.platformId, options.batchSize, options.requestTimeoutMs * 3);
        if (rows.length === 0) {
          await sleep(options.pollMs);
          continue;
        }
        await sendBatch(rows);
      } catch (err) {
        log.error({ err }, 'sender failed; retrying');
        await sleep(options.retryBaseMs);
      }
    }
  }

  // ---- schedule -----------------------------------------------------------------------------

  const senders: Promise<void>[] = [];
  let keepaliveTimer: NodeJS.Timeout | undefined;
  let sessionBusy = false;
  const sessionLoop = async (): Promise<void> => {
    if (stopped || sessionBusy) return;
    sessionBusy = true;
    try {
      await keepalive();
    } finally {
      sessionBusy = false;
    }
    schedule(
      registered
        ? platform.keepaliveIntervalS * 1000
        : backoffMs(session.failures, options.retryBaseMs, options.retryMaxMs),
    );
  };
  function schedule(ms: number): void {
    clearTimeout(keepaliveTimer);
    if (!stopped) keepaliveTimer = setTimeout(() => void sessionLoop(), ms);
  }
  /** The platform no longer knows us: register now rather than at the next keepalive. */
  function reregister(): void {
    registered = false;
    record({ state: 'unregistered' });
    if (!sessionBusy) schedule(0);
  }
  void sessionLoop();
  for (let i = 0; i < options.concurrency; i += 1) senders.push(sender());

  return {
    platformId: platform.platformId,
    state: () => session,
    wake,
    async stop() {
      stopped = true;
      clearTimeout(keepaliveTimer);
      wake();
      await Promise.all(senders);
      if (registered) {
        try {
          await call('/System/UnRegister', { UnRegisterObject: { DeviceID: options.lowerId } }, true);
          log.info('unregistered');
        } catch (err) {
          log.warn({ err }, 'UnRegister failed');
        }
        registered = false;
        record({ state: 'unregistered' });
      }
      await writes;
    },
  };
}

/** A copy of `body` with `fields` merged into the object at `path` (keys and array indexes). */
function placeAt(body: unknown, path: readonly string[], fields: Obj): Obj {
  const [head, ...rest] = path;
  const at = (v: unknown): Obj =>
    rest.length === 0 ? { ...(v as Obj), ...fields } : placeAt(v, rest, fields);
  if (Array.isArray(body)) {
    const copy: unknown[] = [...(body as unknown[])];
    copy[Number(head)] = at(copy[Number(head)]);
    return copy as unknown as Obj;
  }
  const o = body as Obj;
  return head === undefined ? { ...o, ...fields } : { ...o, [head]: at(o[head]) };
}
