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
import type { ClaimedBatch, OutboxRow, OutboxStore, Settlement } from '../store/outbox.ts';
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
  /** The platform's outbox on connections of the link's own (a claimed batch holds one). */
  readonly outbox: Pick<OutboxStore, 'claim'>;
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
  /**
   * Half-open after the link starts, after every registration and after every pause: one batch
   * goes alone and the other senders wait for its answer. A platform that has just come back is
   * met by one request, not by every sender at once; and the back-log's oldest rows — claimed
   * alone, so the first by id — are answered before anything younger is sent. Claimed together,
   * the senders' batches interleave (each claim skips the rows another has just locked) and land
   * in any order: a door's oldest capture could arrive last.
   */
  let halfOpen = true;
  /** A sender's batch is the half-open link's one request. */
  let probing = false;
  let waiters: (() => void)[] = [];
  /** Wake-ups so far: a sender that found nothing looks again at once if one came meanwhile. */
  let signals = 0;
  let writes: Promise<void> = Promise.resolve();

  const wake = (): void => {
    signals += 1;
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
      halfOpen = true;
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
    const enqueued = row.pictures;
    const list = await Promise.all(
      row.images.map(async (image, i) => {
        if (enqueued) return { ...image.info, Data: enqueued[i] };
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

  /** One request's worth: the rows of one kind and target, with their pictures in the body. */
  interface Group {
    readonly rows: readonly OutboxRow[];
    readonly path: string;
    readonly body: unknown;
  }
  /** A claimed batch, ready to POST. */
  interface Prepared {
    readonly claimed: ClaimedBatch;
    readonly groups: readonly Group[];
  }
  type Answer = { readonly group: Group } & (
    | { readonly outcome: 'ok'; readonly result: CallResult }
    | { readonly outcome: 'transport' | 'unauthorised' }
  );

  async function buildGroup(rows: readonly OutboxRow[]): Promise<Group> {
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
    return { rows, path: rows[0]!.targetUrl || ENVELOPES[kind].path, body: wrap(kind, objects) };
  }

  /** Claims due rows, oldest first, and fetches their pictures; undefined when none is due. */
  async function prepare(): Promise<Prepared | undefined> {
    // A batch claimed ahead waits for the one on the wire, then is on the wire itself, then
    // settles: bound by the POST timeouts, so a hung sender does not hold its rows for longer.
    const claimed = await outbox.claim(platform.platformId, options.batchSize, options.requestTimeoutMs * 3);
    if (!claimed) return undefined;
    const byTarget = new Map<string, OutboxRow[]>();
    for (const row of claimed.rows) {
      const key = `${row.kind} ${row.targetUrl}`;
      const group = byTarget.get(key);
      if (group) group.push(row);
      else byTarget.set(key, [row]);
    }
    try {
      return { claimed, groups: await Promise.all([...byTarget.values()].map(buildGroup)) };
    } catch (err) {
      // The object store failed: give the rows back for a later attempt, in their order.
      await claimed.release(new Date(Date.now() + options.retryBaseMs));
      throw err;
    }
  }

  async function post(group: Group): Promise<Answer> {
    const started = Date.now();
    let r: CallResult;
    try {
      r = await call(group.path, group.body);
    } catch (err) {
      failed('upload', err);
      return { group, outcome: 'transport' };
    }
    metrics.requestLatency(platform.platformId, Date.now() - started);
    if (r.status === 401) return { group, outcome: 'unauthorised' };
    if (r.status < 200 || r.status >= 300) {
      failed('upload', new Error(`HTTP ${r.status}`));
      return { group, outcome: 'transport' };
    }
    return { group, outcome: 'ok', result: r };
  }

  function settlementsOf(rows: readonly OutboxRow[], r: CallResult, now: Date): Settlement[] {
    const kind = rows[0]!.kind;
    // By the id the receiver answers with: a device's state (APE) is one outbox row per
    // revision but one ApeID on the wire.
    return verdicts(
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
  }

  /**
   * Records the answers in the batch's claim and ends it: the rows of unanswered requests are
   * due again at once, no attempt counted; answers that cannot be recorded after a back-off.
   */
  async function settle(claimed: ClaimedBatch, settlements: readonly Settlement[], now: Date): Promise<void> {
    const attempts = Math.max(0, ...settlements.map((s) => s.row.attempts));
    const unrecordedRetryAt = new Date(
      now.getTime() + backoffMs(attempts, options.retryBaseMs, options.retryMaxMs),
    );
    await claimed.settle(settlements, options.producer, unrecordedRetryAt);
    metrics.settled(platform.platformId, settlements, now.getTime());
  }

  /**
   * What the answers mean for the link, decided at once (so that no sender posts into a pause),
   * and the database work they cause, returned to run while the next batch is on the wire.
   */
  function conclude(claimed: ClaimedBatch, answers: readonly Answer[]): Promise<void> {
    const now = new Date();
    const settlements = answers.flatMap((a) =>
      a.outcome === 'ok' ? settlementsOf(a.group.rows, a.result, now) : [],
    );
    if (answers.some((a) => a.outcome === 'unauthorised')) {
      log.info('upload answered 401: registering again');
      reregister();
    } else if (answers.some((a) => a.outcome === 'transport')) {
      transportFailures += 1;
      // Due again at once: the pause holds this replica's senders back, and when it ends they
      // claim by id, oldest first. (Released at the pause's end instead, a batch whose failure
      // drew a longer jittered pause than the next failure's waited behind younger rows.)
      pausedUntil = Date.now() + backoffMs(transportFailures, options.retryBaseMs, options.retryMaxMs);
      halfOpen = true;
      if (transportFailures >= FAILURES_BEFORE_REREGISTER && registered) {
        log.warn({ failures: transportFailures }, 'uploads failing: buffering, will register again');
        reregister();
      }
    } else {
      transportFailures = 0;
      if (session.state !== 'registered') record({ state: 'registered' });
      if (halfOpen) {
        halfOpen = false;
        wake();
      }
    }
    return settle(claimed, settlements, now);
  }

  const sending = (): boolean => registered && Date.now() >= pausedUntil;

  /**
   * One POST slot of the platform. Its next batch is claimed and its pictures fetched while the
   * current one is on the wire, and the current one is settled while the next one is: the slot
   * does not sit idle through the database and object-store round trips. The next claim waits
   * for the previous settle, so a slot holds at most two claims (two connections) at a time.
   */
  async function sender(): Promise<void> {
    let next: { batch: Promise<Prepared | undefined>; signals: number } | undefined;
    let settling: Promise<unknown> = Promise.resolve();
    const ahead = () => {
      const n = { batch: settling.then(prepare), signals };
      // Awaited later or given back; a failure is handled where it is awaited.
      n.batch.catch(() => undefined);
      return n;
    };
    const giveBack = async (): Promise<void> => {
      const batch = await next?.batch.catch(() => undefined);
      next = undefined;
      if (batch) await batch.claimed.release();
    };
    while (!stopped) {
      let probe = false;
      try {
        if (!sending()) {
          await giveBack();
          await sleep(Math.max(options.pollMs, pausedUntil - Date.now()));
          continue;
        }
        if (halfOpen) {
          if (probing) {
            // Rows claimed ahead go back: the half-open request takes the oldest.
            await giveBack();
            await sleep(options.pollMs);
            continue;
          }
          probing = probe = true;
        }
        const current = next ?? ahead();
        next = undefined;
        const batch = await current.batch;
        if (!batch) {
          if (signals === current.signals) await sleep(options.pollMs);
          continue;
        }
        if (!sending()) {
          await batch.claimed.release();
          continue;
        }
        next = ahead();
        const answers = await Promise.all(batch.groups.map(post));
        await settling;
        settling = conclude(batch.claimed, answers).catch((err: unknown) =>
          log.error({ err }, 'answers not recorded; the rows are due again'),
        );
      } catch (err) {
        log.error({ err }, 'sender failed; retrying');
        await sleep(options.retryBaseMs);
      } finally {
        // The answers are concluded (the link open, or paused and half-open again), or there
        // was nothing to send: another sender may take the next half-open request.
        if (probe) probing = false;
      }
    }
    await settling;
    await giveBack().catch((err: unknown) => log.warn({ err }, 'claimed rows not given back'));
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
