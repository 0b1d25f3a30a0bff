import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ClientBase, Pool } from 'pg';
import { context, metrics, propagation } from '@opentelemetry/api';
import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api';
import type { Bus, Headers, OutgoingMessage } from '../bus/types.ts';
import { HEADER } from '../bus/types.ts';
import { createEventPublisher, type EventPublisher } from '../bus/events.ts';
import { errorFields, poolConfig, stderrLogger } from './pool.ts';
import type { PgLogger } from './pool.ts';

/**
 * Transactional outbox.
 *
 * Producers call `enqueueOutbox(client, topic, messages)` inside the transaction that changes
 * their state; the rows become visible exactly when that transaction commits. One relay per
 * database (`startOutboxRelay`) publishes the committed rows to the bus in `id` order, deleting
 * them only after `bus.publish` resolved (the bus resolves only when every message is durable).
 *
 * Ordering: every replica may start a relay, but only the one holding a session advisory lock
 * on a dedicated connection is active; the others stand by and take over when that session ends
 * (crash, network loss, stop). A single reader in `id` order keeps per-key order without the
 * reordering that concurrent `FOR UPDATE SKIP LOCKED` readers cause. `id` comes from an
 * identity sequence at insert time, so if transaction A committed before transaction B wrote
 * its outbox row, A's messages are published first. Transactions that overlap have no defined
 * order between them; writers that must order events of one key serialise on that key's row
 * (which they do anyway when they change the same entity) and enqueue after that write.
 *
 * Delivery is at-least-once: a relay that dies between a successful publish and the delete
 * republishes those rows. Every message carries a stable event id header (set here when the
 * caller gave none), and consumers deduplicate on it.
 */

export const OUTBOX_TABLE = 'outbox';
export const OUTBOX_CHANNEL = 'anfang_outbox';
/** Session advisory-lock key held by the active relay (bigint space; node-pg-migrate uses another). */
export const OUTBOX_RELAY_LOCK = 0x616e_6661_6e67_01n; // 'anfang' + 1

interface OutboxRow {
  id: string;
  topic: string;
  key: string;
  value: Buffer;
  headers: Headers;
  message_ts: string;
}

/**
 * Writes `messages` for `topic` into the outbox through `client`, which should be inside the
 * caller's transaction. Adds an event-id header where missing, captures the active trace
 * context into the headers (so the consumer continues the producer's trace, not the relay's),
 * fixes the timestamp, and notifies the relay on commit.
 */
export async function enqueueOutbox(
  client: ClientBase,
  topic: string,
  messages: readonly OutgoingMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  const now = Date.now();
  const keys: string[] = [];
  const values: Buffer[] = [];
  const headers: string[] = [];
  const timestamps: string[] = [];
  for (const m of messages) {
    const h: Headers = { ...m.headers };
    if (!h[HEADER.eventId]) h[HEADER.eventId] = randomUUID();
    if (!h[HEADER.traceparent]) propagation.inject(context.active(), h);
    keys.push(m.key);
    values.push(
      Buffer.isBuffer(m.value)
        ? m.value
        : Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength),
    );
    headers.push(JSON.stringify(h));
    timestamps.push(String(m.timestamp ?? now));
  }
  await client.query(
    `INSERT INTO ${OUTBOX_TABLE} (topic, key, value, headers, message_ts)
     SELECT $1, k, v, h, t
       FROM unnest($2::text[], $3::bytea[], $4::jsonb[], $5::bigint[]) WITH ORDINALITY AS m(k, v, h, t, n)
      ORDER BY n`,
    [topic, keys, values, headers, timestamps],
  );
  await client.query(`SELECT pg_notify('${OUTBOX_CHANNEL}', '')`);
}

/** A bus failure (the session is fine and the lock still held). */
class PublishFailed extends Error {
  constructor(cause: unknown) {
    super('outbox relay: publish failed', { cause });
  }
}

/**
 * A `publish` that writes to the outbox through `client` (inside the caller's transaction), for
 * code written against the bus's publish signature, e.g. a typed event publisher.
 */
export function outboxSink(client: ClientBase): Pick<Bus, 'publish'> {
  return { publish: (topic, messages) => enqueueOutbox(client, topic, messages) };
}

/**
 * The typed event publisher over a transaction's outbox: events written with the state change
 * that causes them, so a committed change is always published. Meta, headers and trace context
 * are filled exactly as for a direct publish; the relay sends them once the transaction commits.
 */
export function outboxEventPublisher(client: ClientBase, producer: string): EventPublisher {
  return createEventPublisher({ bus: { kind: 'outbox', ...outboxSink(client) }, producer });
}

export interface OutboxRelayOptions {
  /** The service's pool; the relay opens its own dedicated connection with the same settings. */
  readonly pool: Pool;
  readonly bus: Pick<Bus, 'publish'>;
  /** Rows read and deleted per round. Default 500. */
  readonly batchSize?: number;
  /**
   * Rows per `bus.publish` within a round, sent one after another per topic. Default 100. A
   * send is encoded in one synchronous stretch, and a producer has one send in flight, so every
   * other publish of the service (a device's acknowledgement) waits behind it: 500 status events
   * in one send held the event loop for up to ~85 ms of CPU.
   */
  readonly publishChunk?: number;
  /** Polling fallback when no notification arrives. Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** How often a standby replica tries to become the active relay. Default 3000 ms. */
  readonly standbyRetryMs?: number;
  /** Longest back-off after failures. Default 30 s. */
  readonly maxBackoffMs?: number;
  /** How often the active relay samples the backlog for metrics. Default 5000 ms. */
  readonly metricsIntervalMs?: number;
  readonly logger?: PgLogger;
  /** Default: the global meter provider's `anfang-outbox` meter. */
  readonly meter?: Meter;
}

export interface OutboxRelay {
  /** True while this replica holds the relay lock. */
  readonly active: boolean;
  /** Looks for work now (for tests and after a local enqueue; notifications do this anyway). */
  wake(): void;
  /** Stops: lets the in-flight batch finish (publish and delete), releases the lock, closes. */
  stop(): Promise<void>;
}

/**
 * Starts the relay loop. Returns at once; the loop runs until `stop()`. Failures (bus or
 * database) are logged, counted and retried with exponential back-off; rows stay until
 * published.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const batchSize = options.batchSize ?? 500;
  const publishChunk = options.publishChunk ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const standbyRetryMs = options.standbyRetryMs ?? 3_000;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const metricsIntervalMs = options.metricsIntervalMs ?? 5_000;
  const logger = options.logger ?? stderrLogger;
  const meter = options.meter ?? metrics.getMeter('anfang-outbox');

  const published = meter.createCounter('anfang.outbox.published', {
    description: 'Outbox messages published to the bus and removed from the outbox',
    unit: '{message}',
  });
  const failures = meter.createCounter('anfang.outbox.failures', {
    description: 'Relay failures: stage=publish (per topic chunk the bus refused) or stage=database',
    unit: '{failure}',
  });
  const publishDuration = meter.createHistogram('anfang.outbox.publish.duration', {
    description: 'Time for bus.publish of one topic chunk',
    unit: 's',
  });
  const pendingGauge = meter.createObservableGauge('anfang.outbox.pending', {
    description: 'Rows waiting in the outbox (sampled by the active relay)',
    unit: '{message}',
  });
  const oldestGauge = meter.createObservableGauge('anfang.outbox.oldest_age', {
    description: 'Age of the oldest row waiting in the outbox',
    unit: 's',
  });
  const activeGauge = meter.createObservableGauge('anfang.outbox.relay.active', {
    description: '1 when this replica is the active outbox relay',
  });

  const connectionConfig = poolConfig(options.pool);
  /** The dedicated session; held by standbys too, so taking over needs no new connection. */
  let session: pg.Client | undefined;
  let sessionBroken = false;
  let active = false;
  let stopping = false;
  let wakeUp: (() => void) | undefined;
  let pendingWake = false;
  let sample: { pending: number; oldestAgeS: number } | undefined;
  let lastSampleAt = 0;

  const observePending = (r: ObservableResult<Attributes>) => {
    if (active && sample) r.observe(sample.pending);
  };
  const observeOldest = (r: ObservableResult<Attributes>) => {
    if (active && sample) r.observe(sample.oldestAgeS);
  };
  const observeActive = (r: ObservableResult<Attributes>) => r.observe(active ? 1 : 0);
  pendingGauge.addCallback(observePending);
  oldestGauge.addCallback(observeOldest);
  activeGauge.addCallback(observeActive);

  const wake = () => {
    pendingWake = true;
    wakeUp?.();
  };

  /** Sleeps until woken or `ms` passed; a wake that came in meanwhile returns at once. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (pendingWake || stopping) {
        pendingWake = false;
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        pendingWake = false;
        resolve();
      }
      wakeUp = done;
    });

  /** Ends the session; the server releases the lock with it. */
  const dropSession = async () => {
    const c = session;
    session = undefined;
    if (active) logger.info?.({ component: 'outbox-relay' }, 'outbox relay: no longer active');
    active = false;
    sample = undefined;
    if (c) await c.end().catch(() => {});
  };

  const openSession = async (): Promise<pg.Client> => {
    const c = new pg.Client({
      ...connectionConfig,
      application_name: `${connectionConfig.application_name ?? 'anfang'}:outbox-relay`,
    });
    c.on('error', (err) => {
      sessionBroken = true;
      logger.warn({ ...errorFields(err), component: 'outbox-relay' }, 'outbox relay: connection error');
      wake();
    });
    c.on('notification', () => wake());
    try {
      await c.connect();
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    }
    sessionBroken = false;
    return c;
  };

  /** Tries the relay lock on the session; on success LISTENs for new rows. */
  const tryBecomeActive = async (c: pg.Client): Promise<boolean> => {
    const { rows } = await c.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      OUTBOX_RELAY_LOCK.toString(),
    ]);
    if (!rows[0]?.locked) return false;
    await c.query(`LISTEN ${OUTBOX_CHANNEL}`);
    active = true;
    logger.info?.({ component: 'outbox-relay' }, 'outbox relay: active');
    return true;
  };

  const sampleBacklog = async (c: pg.Client) => {
    const now = Date.now();
    if (now - lastSampleAt < metricsIntervalMs) return;
    lastSampleAt = now;
    const { rows } = await c.query<{ pending: string; oldest: number | null }>(
      `SELECT (SELECT count(*) FROM (SELECT 1 FROM ${OUTBOX_TABLE} LIMIT 1000000) s) AS pending,
              (SELECT extract(epoch FROM now() - min(created_at))::float8 FROM ${OUTBOX_TABLE}) AS oldest`,
    );
    sample = { pending: Number(rows[0]?.pending ?? 0), oldestAgeS: rows[0]?.oldest ?? 0 };
  };

  /** One round: read the oldest rows, publish per topic in order, delete what was published. */
  const relayBatch = async (c: pg.Client): Promise<number> => {
    const { rows } = await c.query<OutboxRow>(
      `SELECT id, topic, key, value, headers, message_ts FROM ${OUTBOX_TABLE} ORDER BY id LIMIT $1`,
      [batchSize],
    );
    if (rows.length === 0) {
      sample = { pending: 0, oldestAgeS: 0 };
      return 0;
    }
    const byTopic = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      let group = byTopic.get(row.topic);
      if (!group) byTopic.set(row.topic, (group = []));
      group.push(row);
    }
    const done: string[] = [];
    let firstError: unknown;
    await Promise.all(
      [...byTopic].map(async ([topic, group]) => {
        // In order, stopping at the first refused chunk: a later row never overtakes an earlier one.
        for (let i = 0; i < group.length; i += publishChunk) {
          const chunk = group.slice(i, i + publishChunk);
          const started = performance.now();
          try {
            await options.bus.publish(
              topic,
              chunk.map((r) => ({
                key: r.key,
                value: r.value,
                headers: r.headers,
                timestamp: Number(r.message_ts),
              })),
            );
          } catch (err) {
            failures.add(1, { topic, stage: 'publish' });
            firstError ??= err;
            logger.warn(
              { ...errorFields(err), component: 'outbox-relay', topic, messages: group.length - i },
              'outbox relay: publish failed; will retry',
            );
            return;
          }
          publishDuration.record((performance.now() - started) / 1000, { topic });
          published.add(chunk.length, { topic });
          for (const r of chunk) done.push(r.id);
        }
      }),
    );
    if (done.length > 0) {
      await c.query(`DELETE FROM ${OUTBOX_TABLE} WHERE id = ANY($1::bigint[])`, [done]);
      if (sample) sample.pending = Math.max(0, sample.pending - done.length); // until the next sample
    }
    if (firstError !== undefined) throw new PublishFailed(firstError);
    return rows.length;
  };

  const loop = async () => {
    let consecutiveFailures = 0;
    while (!stopping) {
      try {
        if (session && sessionBroken) await dropSession();
        session ??= await openSession();
        if (!active && !(await tryBecomeActive(session))) {
          await sleep(standbyRetryMs);
          continue;
        }
        const n = await relayBatch(session);
        consecutiveFailures = 0;
        await sampleBacklog(session); // at most every metricsIntervalMs, also while draining a backlog
        if (n < batchSize) await sleep(pollIntervalMs);
      } catch (err) {
        consecutiveFailures++;
        if (!(err instanceof PublishFailed)) {
          failures.add(1, { stage: 'database' });
          logger.warn({ ...errorFields(err), component: 'outbox-relay' }, 'outbox relay: database error');
          // A fresh session re-takes the lock (or finds another replica took over meanwhile).
          await dropSession();
        }
        const cap = Math.min(maxBackoffMs, 100 * 2 ** Math.min(consecutiveFailures, 16));
        await sleep(cap / 2 + (Math.random() * cap) / 2);
      }
    }
    await dropSession();
  };

  const running = loop();
  return {
    get active() {
      return active;
    },
    wake,
    async stop() {
      stopping = true;
      wake();
      await running;
      pendingGauge.removeCallback(observePending);
      oldestGauge.removeCallback(observeOldest);
      activeGauge.removeCallback(observeActive);
    },
  };
}
