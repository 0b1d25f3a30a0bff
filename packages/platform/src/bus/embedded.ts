/**
 * The embedded bus: a durable, partitioned log in Postgres (schema `bus`, see embedded-schema.ts)
 * with the same interface and semantics as the Kafka bus. It is what the single-site mode runs
 * on (one process, embedded Postgres) and it loses nothing across a kill -9: `publish` resolves
 * after COMMIT, consumers commit their position after the handler succeeded.
 *
 * - Partitioning: the same murmur2 function as Kafka's default partitioner (partitioner.ts).
 * - Appends: one `SELECT bus.append(...)` per coalesced batch (PublishBatcher), one transaction;
 *   per-partition offsets come from a counter row locked until COMMIT (see embedded-schema.ts).
 * - Consumer groups: each subscription is a member (bus.members, heartbeats). Every member
 *   computes the same round-robin assignment from the sorted list of live members, and owns a
 *   partition through a lease (bus.leases) that it renews on every heartbeat; a partition is
 *   handed over only after the previous owner committed and released it, or after its lease
 *   expired (a crashed process). Commits are fenced by the lease.
 * - Latency: LISTEN/NOTIFY wakes consumers on append and on group changes; polling is the
 *   fallback when a notification is missed or the listening connection is down.
 * - Batches: a `batchHandler` gets up to `batchSize` fetched messages of a partition per call
 *   (fetches bring up to `maxBatchMessages` per partition); heartbeats run on their own timer,
 *   so a long batch keeps its leases.
 * - Retention: a periodic sweep (one process at a time, advisory lock) deletes the prefix of each
 *   partition older than the topic's retention, or superseded values of compacted topics.
 */
import pg from 'pg';
import { PublishBatcher, type PendingPublish } from './batcher.ts';
import { createDispatcher, type RawMessage } from './dispatch.ts';
import {
  NOTIFY_GROUP_CHANNEL,
  NOTIFY_TOPIC_CHANNEL,
  SCHEMA_LOCK_KEY,
  SCHEMA_SQL,
  SWEEP_LOCK_KEY,
} from './embedded-schema.ts';
import { uuidv7 } from './ids.ts';
import { expandTopicSpecs } from './topics.ts';
import { createBusMetrics, type BusMetrics } from './metrics.ts';
import { partitionForKey } from './partitioner.ts';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_RETRY_POLICY,
  retryTopic,
  type Bus,
  type BusLogger,
  type Headers,
  type OutgoingMessage,
  type ReplayPosition,
  type SubscribeOptions,
  type Subscription,
  type TopicSpec,
} from './types.ts';
import { oneSubscriptionPerGroup } from './groups.ts';

export interface EmbeddedBusOptions {
  /** A pool to share (left open by `close`). One of `pool` or `connectionString` is required. */
  readonly pool?: pg.Pool;
  /** The bus makes (and closes) its own pool. */
  readonly connectionString?: string;
  /** Size of the bus's own pool. Default 10. */
  readonly poolSize?: number;
  readonly logger?: BusLogger;
  readonly producer?: {
    /** Most messages per append transaction. Default 5 000. */
    readonly maxBatchMessages?: number;
    /** Most bytes per append transaction. Default 8 MiB. */
    readonly maxBatchBytes?: number;
    readonly lingerMs?: number;
  };
  readonly consumer?: {
    /** Default 1 000 ms. */
    readonly heartbeatIntervalMs?: number;
    /** A member not heard of for this long is gone and its partitions move. Default 10 000 ms. */
    readonly sessionTimeoutMs?: number;
    /** Fallback polling when no notification arrives. Default 1 000 ms. */
    readonly pollIntervalMs?: number;
    /** Most messages fetched per partition at a time. Default 500. */
    readonly maxBatchMessages?: number;
    /** Commit at least this often inside a long batch. Default 1 000 ms. */
    readonly commitIntervalMs?: number;
  };
  /** How often expired messages are deleted; 0 disables the sweep. Default 60 000 ms. */
  readonly retentionSweepIntervalMs?: number;
}

export interface EmbeddedBus extends Bus {
  readonly kind: 'embedded';
  /** Deletes expired messages now (also runs periodically). */
  sweep(): Promise<void>;
}

const noopLogger: BusLogger = { info() {}, warn() {}, error() {} };
const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** A wake-up flag: `notify` before `wait` makes the next `wait` return at once. */
class Wakeup {
  #pending = false;
  #resolve: (() => void) | undefined;
  notify(): void {
    this.#pending = true;
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.();
  }
  /** Forget notifications so far (call before looking for work). */
  arm(): void {
    this.#pending = false;
  }
  wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.#resolve = undefined;
          resolve();
        },
        Math.max(1, ms),
      );
      this.#resolve = () => {
        clearTimeout(timer);
        this.#pending = false;
        resolve();
      };
    });
  }
}

type NotificationHandler = (channel: string, payload: string) => void;

/** One LISTEN connection per bus, reconnecting; `*` tells handlers that notifications may have been missed. */
class Notifications {
  readonly #config: pg.ClientConfig;
  readonly #logger: BusLogger;
  readonly #handlers = new Set<NotificationHandler>();
  #client: pg.Client | undefined;
  #closed = false;
  #reconnecting = false;

  constructor(config: pg.ClientConfig, logger: BusLogger) {
    this.#config = config;
    this.#logger = logger;
  }

  add(handler: NotificationHandler): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ ...this.#config, application_name: 'anfang-bus-listen' });
    client.on('notification', (n) => {
      for (const handler of this.#handlers) handler(n.channel, n.payload ?? '');
    });
    const lost = (error?: Error): void => {
      if (this.#client !== client || this.#closed) return;
      this.#client = undefined;
      this.#logger.warn(
        { error: error ? String(error) : undefined },
        'bus: notification connection lost; polling until it is back',
      );
      client.end().catch(() => {});
      this.#scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    await client.query(`LISTEN ${NOTIFY_TOPIC_CHANNEL}; LISTEN ${NOTIFY_GROUP_CHANNEL}`);
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    for (const handler of this.#handlers) handler('*', '');
  }

  #scheduleReconnect(): void {
    if (this.#reconnecting || this.#closed) return;
    this.#reconnecting = true;
    void (async () => {
      let delay = 200;
      while (!this.#closed) {
        await sleep(delay);
        try {
          await this.#connect();
          break;
        } catch (error) {
          this.#logger.warn({ error: String(error) }, 'bus: could not reconnect the notification connection');
          delay = Math.min(delay * 2, 5_000);
        }
      }
      this.#reconnecting = false;
    })();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }
}

interface TopicInfo {
  readonly partitions: number;
  readonly retentionMs: number;
  readonly compacted: boolean;
}

export async function ensureBusSchema(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
    await client.query(SCHEMA_SQL);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export async function createEmbeddedBus(options: EmbeddedBusOptions): Promise<EmbeddedBus> {
  if (!options.pool && !options.connectionString)
    throw new Error('bus: embedded bus needs a pool or a connectionString');
  const logger = options.logger ?? noopLogger;
  const ownPool = !options.pool;
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      application_name: 'anfang-bus',
    });
  if (ownPool)
    pool.on('error', (error) =>
      logger.warn({ error: String(error) }, 'bus: idle Postgres connection failed'),
    );
  const metrics: BusMetrics = createBusMetrics('embedded');
  const consumerOptions = options.consumer ?? {};
  const heartbeatMs = consumerOptions.heartbeatIntervalMs ?? 1_000;
  const sessionMs = consumerOptions.sessionTimeoutMs ?? 10_000;
  const pollMs = consumerOptions.pollIntervalMs ?? 1_000;
  const fetchLimit = consumerOptions.maxBatchMessages ?? 500;
  const commitIntervalMs = consumerOptions.commitIntervalMs ?? 1_000;

  try {
    await ensureBusSchema(pool);
  } catch (error) {
    if (ownPool) await pool.end().catch(() => {});
    throw error;
  }

  const notifications = new Notifications(pool.options as pg.ClientConfig, logger);
  await notifications.start();

  let topicCache = new Map<string, TopicInfo>();
  const loadTopics = async (): Promise<Map<string, TopicInfo>> => {
    const { rows } = await pool.query<{
      name: string;
      partitions: number;
      retention_ms: string;
      compacted: boolean;
    }>('SELECT name, partitions, retention_ms, compacted FROM bus.topics');
    topicCache = new Map(
      rows.map((r) => [
        r.name,
        { partitions: r.partitions, retentionMs: Number(r.retention_ms), compacted: r.compacted },
      ]),
    );
    return topicCache;
  };
  await loadTopics();
  const topicInfo = async (topic: string): Promise<TopicInfo> => {
    const info = topicCache.get(topic) ?? (await loadTopics()).get(topic);
    if (!info) throw new Error(`bus: topic ${topic} does not exist (ensureTopics first)`);
    return info;
  };

  // ---- publishing ----------------------------------------------------------------------------

  const send = async (batch: readonly PendingPublish[]): Promise<void> => {
    const topics: string[] = [];
    const partitions: number[] = [];
    const keys: string[] = [];
    const values: Uint8Array[] = [];
    const headers: Headers[] = [];
    const timestamps: number[] = [];
    const counts = new Map<string, number>();
    const now = Date.now();
    for (const entry of batch) {
      const { partitions: n } = await topicInfo(entry.topic);
      for (const m of entry.messages) {
        topics.push(entry.topic);
        partitions.push(partitionForKey(m.key, n));
        keys.push(m.key);
        values.push(m.value);
        headers.push(m.headers ?? {});
        timestamps.push(m.timestamp ?? now);
      }
      counts.set(entry.topic, (counts.get(entry.topic) ?? 0) + entry.messages.length);
    }
    const started = performance.now();
    try {
      await pool.query(
        'SELECT bus.append($1::text[], $2::int[], $3::text[], $4::bytea[], $5::jsonb, $6::bigint[])',
        [topics, partitions, keys, values, JSON.stringify(headers), timestamps],
      );
    } catch (error) {
      const seconds = (performance.now() - started) / 1000;
      for (const [topic] of counts)
        metrics.published(topic, 0, seconds, error instanceof Error ? error.name : 'error');
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    for (const [topic, count] of counts) metrics.published(topic, count, seconds);
  };

  const batcher = new PublishBatcher(send, {
    maxMessages: options.producer?.maxBatchMessages ?? 5_000,
    maxBytes: options.producer?.maxBatchBytes ?? 8 * 1024 * 1024,
    ...(options.producer?.lingerMs !== undefined ? { lingerMs: options.producer.lingerMs } : {}),
  });

  const publish = async (topic: string, messages: readonly OutgoingMessage[]): Promise<void> => {
    await topicInfo(topic); // a clear error for an unknown topic, before batching
    await batcher.publish(topic, messages);
  };

  // ---- topics --------------------------------------------------------------------------------

  async function ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const wanted = expandTopicSpecs(specs);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      for (const t of wanted) {
        const inserted = await client.query(
          `INSERT INTO bus.topics (name, partitions, retention_ms, compacted) VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO NOTHING RETURNING name`,
          [t.name, t.partitions, t.retentionMs, t.compacted ?? false],
        );
        if (inserted.rowCount === 1) {
          await client.query(
            'INSERT INTO bus.partitions (topic, partition) SELECT $1, p FROM generate_series(0, $2 - 1) AS p ON CONFLICT DO NOTHING',
            [t.name, t.partitions],
          );
        } else {
          const { rows } = await client.query<{ partitions: number }>(
            'SELECT partitions FROM bus.topics WHERE name = $1',
            [t.name],
          );
          if (rows[0] && rows[0].partitions !== t.partitions) {
            logger.warn(
              { topic: t.name, partitions: rows[0].partitions, wanted: t.partitions },
              'bus: topic exists with a different partition count; left as is',
            );
          }
        }
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    await loadTopics();
  }

  // ---- consuming -----------------------------------------------------------------------------

  const subscriptions = new Set<EmbeddedSubscription>();

  interface Owned {
    readonly topic: string;
    readonly partition: number;
    /** Next offset to read. */
    position: bigint;
    /** Position last committed by this member. */
    committed: bigint;
    pausedUntil: number;
  }

  interface FetchedRow {
    topic: string;
    partition: number;
    offset: string;
    key: string;
    value: Buffer;
    headers: Headers;
    ts: string;
    end_offset: string;
  }

  class EmbeddedSubscription implements Subscription {
    readonly memberId = uuidv7();
    readonly group: string;
    readonly topics: readonly string[];
    readonly retryTopics: readonly string[];
    readonly all: readonly string[];
    readonly #concurrency: number;
    readonly #chunkSize: number;
    readonly #abort = new AbortController();
    readonly #wake = new Wakeup();
    readonly #owned = new Map<string, Owned>();
    readonly #dispatcher;
    /** Membership changed or a lease was lost: rebalance before the next message. */
    #rebalanceNeeded = true;
    /** When to look again anyway (soon while assigned partitions are still held by others). */
    #nextRebalanceAt = 0;
    #membersSignature = '';
    #loop: Promise<void> | undefined;
    #heartbeatTimer: NodeJS.Timeout | undefined;
    #heartbeat: Promise<void> = Promise.resolve();
    #unlisten: (() => void) | undefined;
    #closing: Promise<void> | undefined;

    constructor(subscribe: SubscribeOptions, retryTopics: readonly string[]) {
      this.group = subscribe.group;
      this.topics = [...new Set(subscribe.topics)];
      this.retryTopics = retryTopics;
      this.all = [...this.topics, ...retryTopics];
      this.#concurrency = Math.max(1, subscribe.partitionsConcurrently ?? 1);
      // A message handler is called a message at a time, as before: one chunk per message.
      this.#chunkSize = subscribe.batchHandler ? Math.max(1, subscribe.batchSize ?? DEFAULT_BATCH_SIZE) : 1;
      this.#dispatcher = createDispatcher({
        group: this.group,
        handler: subscribe.handler,
        batchHandler: subscribe.batchHandler,
        policy: subscribe.retry ?? DEFAULT_RETRY_POLICY,
        logger,
        metrics,
        publish,
        retryTopics: new Set(retryTopics),
        topicExists: (topic) => topicCache.has(topic),
        signal: this.#abort.signal,
      });
    }

    async start(): Promise<void> {
      const interested = new Set(this.all);
      this.#unlisten = notifications.add((channel, payload) => {
        if (channel === '*') {
          this.#rebalanceNeeded = true;
          this.#wake.notify();
        } else if (channel === NOTIFY_TOPIC_CHANNEL && interested.has(payload)) {
          this.#wake.notify();
        } else if (channel === NOTIFY_GROUP_CHANNEL && payload === this.group) {
          this.#rebalanceNeeded = true;
          this.#wake.notify();
        }
      });
      await this.#beat();
      await pool.query('SELECT pg_notify($1, $2)', [NOTIFY_GROUP_CHANNEL, this.group]);
      await this.#rebalance();
      this.#heartbeatTimer = setInterval(() => {
        this.#heartbeat = this.#heartbeat.then(() =>
          this.#beat().catch((error: unknown) =>
            logger.warn({ group: this.group, error: String(error) }, 'bus: heartbeat failed'),
          ),
        );
      }, heartbeatMs);
      this.#loop = this.#run();
    }

    /** Heartbeat: keeps the member and its leases alive; notices membership changes and lost leases. */
    async #beat(): Promise<void> {
      const { rows } = await pool.query<{ members: string | null; renewed: string[] | null }>(
        `WITH hb AS (
           INSERT INTO bus.members (group_id, member_id, topics, session_ms) VALUES ($1, $2, $3, $4)
           ON CONFLICT (group_id, member_id) DO UPDATE SET heartbeat_at = now(), topics = excluded.topics
           RETURNING 1
         ), renew AS (
           UPDATE bus.leases SET expires_at = now() + $4 * interval '1 millisecond'
           WHERE group_id = $1 AND member_id = $2
           RETURNING topic || '/' || partition AS tp
         )
         SELECT (SELECT string_agg(member_id || ':' || array_to_string(topics, ','), ';' ORDER BY member_id)
                   FROM bus.members
                  WHERE group_id = $1 AND heartbeat_at > now() - session_ms * interval '1 millisecond') AS members,
                (SELECT array_agg(tp) FROM renew) AS renewed,
                (SELECT count(*) FROM hb) AS hb`,
        [this.group, this.memberId, this.all, sessionMs],
      );
      const signature = rows[0]?.members ?? '';
      const renewed = new Set(rows[0]?.renewed ?? []);
      let changed = signature !== this.#membersSignature;
      this.#membersSignature = signature;
      for (const o of this.#owned.values()) {
        if (!renewed.has(`${o.topic}/${o.partition}`)) changed = true;
      }
      if (changed) {
        this.#rebalanceNeeded = true;
        this.#wake.notify();
      }
    }

    /** Releases partitions that should move, acquires those assigned to this member that are free. */
    async #rebalance(): Promise<void> {
      this.#rebalanceNeeded = false;
      this.#nextRebalanceAt = Date.now() + heartbeatMs * 10;
      const { rows: live } = await pool.query<{ member_id: string; topics: string[] }>(
        `SELECT member_id, topics FROM bus.members
          WHERE group_id = $1 AND (member_id = $2 OR heartbeat_at > now() - session_ms * interval '1 millisecond')
          ORDER BY member_id`,
        [this.group, this.memberId],
      );
      if (!live.some((m) => m.member_id === this.memberId))
        live.push({ member_id: this.memberId, topics: [...this.all] });
      live.sort((a, b) => (a.member_id < b.member_id ? -1 : a.member_id > b.member_id ? 1 : 0));
      const allTopics = [...new Set(live.flatMap((m) => m.topics))].sort();
      if (allTopics.some((t) => !topicCache.has(t))) await loadTopics();
      const desired = new Map<string, { topic: string; partition: number }>();
      let k = 0;
      for (const topic of allTopics) {
        const info = topicCache.get(topic);
        if (!info) continue;
        const eligible = live.filter((m) => m.topics.includes(topic));
        for (let partition = 0; partition < info.partitions; partition++) {
          const owner = eligible[k++ % eligible.length]!;
          if (owner.member_id === this.memberId) desired.set(tpKey(topic, partition), { topic, partition });
        }
      }

      const release = [...this.#owned.entries()].filter(([key]) => !desired.has(key));
      if (release.length > 0) {
        await this.#commit(release.map(([, o]) => o));
        const gone = release.map(([, o]) => o);
        await pool.query(
          `DELETE FROM bus.leases l USING unnest($3::text[], $4::int[]) AS x(topic, partition)
            WHERE l.group_id = $1 AND l.member_id = $2 AND l.topic = x.topic AND l.partition = x.partition`,
          [this.group, this.memberId, gone.map((o) => o.topic), gone.map((o) => o.partition)],
        );
        for (const [key] of release) this.#owned.delete(key);
        await pool.query('SELECT pg_notify($1, $2)', [NOTIFY_GROUP_CHANNEL, this.group]);
      }

      const wanted = [...desired.entries()].filter(([key]) => !this.#owned.has(key)).map(([, tp]) => tp);
      if (wanted.length > 0) {
        const { rows: acquired } = await pool.query<{
          topic: string;
          partition: number;
          offset: string | null;
        }>(
          `WITH acquired AS (
             INSERT INTO bus.leases (group_id, topic, partition, member_id, expires_at)
             SELECT $1, x.topic, x.partition, $2, now() + $5 * interval '1 millisecond'
               FROM unnest($3::text[], $4::int[]) AS x(topic, partition)
             ON CONFLICT (group_id, topic, partition) DO UPDATE
               SET member_id = excluded.member_id, expires_at = excluded.expires_at
               WHERE bus.leases.member_id = excluded.member_id OR bus.leases.expires_at < now()
             RETURNING topic, partition
           )
           SELECT a.topic, a.partition, o."offset"
             FROM acquired a
             LEFT JOIN bus.offsets o ON o.group_id = $1 AND o.topic = a.topic AND o.partition = a.partition`,
          [this.group, this.memberId, wanted.map((w) => w.topic), wanted.map((w) => w.partition), sessionMs],
        );
        for (const row of acquired) {
          const position = BigInt(row.offset ?? '0');
          this.#owned.set(tpKey(row.topic, row.partition), {
            topic: row.topic,
            partition: row.partition,
            position,
            committed: position,
            pausedUntil: 0,
          });
        }
        // Partitions still held by another member come later: it notifies the group when it
        // releases them; a crashed member's lease expires, so look again soon.
        if (acquired.length < wanted.length) this.#nextRebalanceAt = Date.now() + heartbeatMs;
      }
    }

    /** Commits the positions of these partitions; partitions whose lease is gone are dropped. */
    async #commit(list: readonly Owned[]): Promise<void> {
      const dirty = list.filter((o) => o.position !== o.committed);
      if (dirty.length === 0) return;
      const { rows } = await pool.query<{ topic: string; partition: number }>(
        `INSERT INTO bus.offsets (group_id, topic, partition, "offset", updated_at)
         SELECT $1, x.topic, x.partition, x.pos, now()
           FROM unnest($3::text[], $4::int[], $5::bigint[]) AS x(topic, partition, pos)
          WHERE EXISTS (SELECT 1 FROM bus.leases l
                         WHERE l.group_id = $1 AND l.topic = x.topic AND l.partition = x.partition AND l.member_id = $2)
         ON CONFLICT (group_id, topic, partition) DO UPDATE SET "offset" = excluded."offset", updated_at = now()
         RETURNING topic, partition`,
        [
          this.group,
          this.memberId,
          dirty.map((o) => o.topic),
          dirty.map((o) => o.partition),
          dirty.map((o) => o.position.toString()),
        ],
      );
      const ok = new Set(rows.map((r) => tpKey(r.topic, r.partition)));
      for (const o of dirty) {
        const key = tpKey(o.topic, o.partition);
        if (ok.has(key)) o.committed = o.position;
        else if (this.#owned.get(key) === o) {
          logger.warn(
            { group: this.group, topic: o.topic, partition: o.partition },
            'bus: lost the lease of a partition; another member continues it',
          );
          this.#owned.delete(key);
          this.#rebalanceNeeded = true;
        }
      }
    }

    async #run(): Promise<void> {
      const signal = this.#abort.signal;
      while (!signal.aborted) {
        try {
          if (this.#rebalanceNeeded || Date.now() >= this.#nextRebalanceAt) await this.#rebalance();
          const now = Date.now();
          const ready = [...this.#owned.values()].filter((o) => o.pausedUntil <= now);
          const nextPause = Math.min(
            ...[...this.#owned.values()].filter((o) => o.pausedUntil > now).map((o) => o.pausedUntil),
          );
          const idleWait = Math.max(1, Math.min(pollMs, this.#nextRebalanceAt - now, nextPause - now));
          if (ready.length === 0) {
            await this.#wake.wait(idleWait);
            continue;
          }
          this.#wake.arm();
          const { rows } = await pool.query<FetchedRow>(
            `SELECT x.topic, x.partition, m."offset", m.key, m.value, m.headers, m.ts, p.next_offset AS end_offset
               FROM unnest($1::text[], $2::int[], $3::bigint[]) AS x(topic, partition, pos)
               JOIN bus.partitions p ON p.topic = x.topic AND p.partition = x.partition
               CROSS JOIN LATERAL (
                 SELECT "offset", key, value, headers, ts FROM bus.messages m
                  WHERE m.topic = x.topic AND m.partition = x.partition AND m."offset" >= x.pos
                  ORDER BY m."offset" LIMIT $4
               ) m
              ORDER BY x.topic, x.partition, m."offset"`,
            [
              ready.map((o) => o.topic),
              ready.map((o) => o.partition),
              ready.map((o) => o.position.toString()),
              fetchLimit,
            ],
          );
          if (rows.length === 0) {
            await this.#wake.wait(idleWait);
            continue;
          }
          await this.#process(rows);
        } catch (error) {
          if (signal.aborted) break;
          logger.error({ group: this.group, error: String(error) }, 'bus: consumer loop error; retrying');
          await sleep(1_000, signal);
        }
      }
    }

    async #process(rows: readonly FetchedRow[]): Promise<void> {
      const byPartition = new Map<string, FetchedRow[]>();
      for (const row of rows) {
        const key = tpKey(row.topic, row.partition);
        let list = byPartition.get(key);
        if (!list) byPartition.set(key, (list = []));
        list.push(row);
      }
      const queue = [...byPartition.entries()];
      const worker = async (): Promise<void> => {
        for (let next = queue.shift(); next; next = queue.shift())
          await this.#processPartition(next[0], next[1]);
      };
      await Promise.all(Array.from({ length: Math.min(this.#concurrency, queue.length) }, worker));
      await this.#commit([...this.#owned.values()]);
    }

    async #processPartition(key: string, rows: readonly FetchedRow[]): Promise<void> {
      const signal = this.#abort.signal;
      let lastCommit = Date.now();
      let last: FetchedRow | undefined;
      for (let from = 0; from < rows.length; from += this.#chunkSize) {
        const owned = this.#owned.get(key);
        if (!owned || signal.aborted || this.#rebalanceNeeded) break;
        const chunk = rows
          .slice(from, from + this.#chunkSize)
          .filter((row) => BigInt(row.offset) >= owned.position);
        if (chunk.length === 0) continue;
        const raws = chunk.map((row): RawMessage => ({
          topic: row.topic,
          partition: row.partition,
          offset: row.offset,
          key: row.key,
          value: row.value,
          headers: row.headers ?? {},
          timestamp: Number(row.ts),
        }));
        let result;
        try {
          result = await this.#dispatcher.handleBatch(raws);
        } catch (error) {
          logger.error(
            {
              group: this.group,
              topic: chunk[0]!.topic,
              partition: chunk[0]!.partition,
              offset: chunk[0]!.offset,
              error: String(error),
            },
            'bus: could not route a failed message; will re-deliver it',
          );
          owned.pausedUntil = Date.now() + 1_000;
          break;
        }
        if (result.handled > 0) {
          last = chunk[result.handled - 1]!;
          owned.position = BigInt(last.offset) + 1n;
        }
        const { outcome } = result;
        if (outcome.kind === 'wait') {
          owned.pausedUntil = outcome.until;
          break;
        }
        if (outcome.kind === 'stopped') break;
        if (Date.now() - lastCommit >= commitIntervalMs) {
          await this.#commit([owned]);
          lastCommit = Date.now();
        }
      }
      if (last)
        metrics.lag(
          last.topic,
          this.group,
          last.partition,
          Number(last.end_offset) - Number(last.offset) - 1,
        );
    }

    close(): Promise<void> {
      this.#closing ??= (async () => {
        this.#abort.abort();
        this.#wake.notify();
        clearInterval(this.#heartbeatTimer);
        this.#unlisten?.();
        await this.#loop;
        await this.#heartbeat;
        try {
          await this.#commit([...this.#owned.values()]);
          await pool.query('DELETE FROM bus.leases WHERE group_id = $1 AND member_id = $2', [
            this.group,
            this.memberId,
          ]);
          await pool.query('DELETE FROM bus.members WHERE group_id = $1 AND member_id = $2', [
            this.group,
            this.memberId,
          ]);
          await pool.query('SELECT pg_notify($1, $2)', [NOTIFY_GROUP_CHANNEL, this.group]);
        } catch (error) {
          logger.warn(
            { group: this.group, error: String(error) },
            'bus: could not leave the group cleanly; its leases will expire',
          );
        } finally {
          this.#owned.clear();
          metrics.forget(this.group);
          subscriptions.delete(this);
        }
      })();
      return this.#closing;
    }
  }

  let closed = false;

  async function subscribe(subscribeOptions: SubscribeOptions): Promise<Subscription> {
    if (closed) throw new Error('bus: subscribe after close');
    const topics = [...new Set(subscribeOptions.topics)];
    if (topics.length === 0) throw new Error('bus: subscribe needs at least one topic');
    await loadTopics();
    for (const topic of topics)
      if (!topicCache.has(topic)) throw new Error(`bus: topic ${topic} does not exist (ensureTopics first)`);
    const retryTopics = topics.map(retryTopic).filter((t) => topicCache.has(t));
    // A new group starts at the end (for 'latest', and always for retry topics) as of now:
    // whatever is published after subscribe resolves is delivered.
    const atEnd = [...((subscribeOptions.start ?? 'latest') === 'latest' ? topics : []), ...retryTopics];
    if (atEnd.length > 0) {
      await pool.query(
        `INSERT INTO bus.offsets (group_id, topic, partition, "offset")
         SELECT $1, p.topic, p.partition, p.next_offset FROM bus.partitions p WHERE p.topic = ANY($2::text[])
         ON CONFLICT DO NOTHING`,
        [subscribeOptions.group, atEnd],
      );
    }
    const subscription = new EmbeddedSubscription(subscribeOptions, retryTopics);
    subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      await subscription.close().catch(() => {});
      throw error;
    }
    return subscription;
  }

  async function replay(group: string, topic: string, position: ReplayPosition): Promise<void> {
    const { rows: running } = await pool.query(
      `SELECT 1 FROM bus.members WHERE group_id = $1 AND heartbeat_at > now() - session_ms * interval '1 millisecond' LIMIT 1`,
      [group],
    );
    if (running.length > 0)
      throw new Error(`bus: the consumer group ${group} must have no running members to replay`);
    await topicInfo(topic);
    let sql: string;
    let params: unknown[];
    switch (position.kind) {
      case 'earliest':
        sql = `SELECT p.partition, coalesce((SELECT min(m."offset") FROM bus.messages m WHERE m.topic = p.topic AND m.partition = p.partition), p.next_offset) AS pos
                 FROM bus.partitions p WHERE p.topic = $1`;
        params = [topic];
        break;
      case 'latest':
        sql = 'SELECT p.partition, p.next_offset AS pos FROM bus.partitions p WHERE p.topic = $1';
        params = [topic];
        break;
      case 'timestamp':
        sql = `SELECT p.partition, coalesce((SELECT min(m."offset") FROM bus.messages m
                                              WHERE m.topic = p.topic AND m.partition = p.partition AND m.ts >= $2), p.next_offset) AS pos
                 FROM bus.partitions p WHERE p.topic = $1`;
        params = [topic, position.timestamp];
        break;
      case 'offsets':
        sql = 'SELECT x.partition, x.pos FROM unnest($2::int[], $3::bigint[]) AS x(partition, pos)';
        params = [topic, position.offsets.map((o) => o.partition), position.offsets.map((o) => o.offset)];
        break;
    }
    await pool.query(
      `INSERT INTO bus.offsets (group_id, topic, partition, "offset", updated_at)
       SELECT $${params.length + 1}, $1, q.partition, q.pos, now() FROM (${sql}) AS q
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET "offset" = excluded."offset", updated_at = now()`,
      [...params, group],
    );
  }

  async function sweep(): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_xact_lock($1) AS locked',
        [SWEEP_LOCK_KEY],
      );
      if (!rows[0]?.locked) {
        await client.query('ROLLBACK');
        return;
      }
      const topics = await loadTopics();
      const now = Date.now();
      for (const [name, info] of topics) {
        if (info.compacted) {
          await client.query(
            `DELETE FROM bus.messages m
              USING (SELECT partition, key, max("offset") AS keep FROM bus.messages WHERE topic = $1 GROUP BY partition, key) k
              WHERE m.topic = $1 AND m.partition = k.partition AND m.key = k.key AND m."offset" < k.keep`,
            [name],
          );
        } else if (info.retentionMs >= 0) {
          // Like Kafka's segments: delete the prefix of each partition older than the retention.
          await client.query(
            `DELETE FROM bus.messages m
              USING (SELECT p.partition,
                            coalesce((SELECT x."offset" FROM bus.messages x
                                       WHERE x.topic = p.topic AND x.partition = p.partition AND x.ts >= $2
                                       ORDER BY x."offset" LIMIT 1), p.next_offset) AS keep_from
                       FROM bus.partitions p WHERE p.topic = $1) k
              WHERE m.topic = $1 AND m.partition = k.partition AND m."offset" < k.keep_from`,
            [name, now - info.retentionMs],
          );
        }
      }
      await client.query(`DELETE FROM bus.members WHERE heartbeat_at < now() - interval '1 day'`);
      await client.query(`DELETE FROM bus.leases WHERE expires_at < now() - interval '1 day'`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  const sweepMs = options.retentionSweepIntervalMs ?? 60_000;
  const sweepTimer =
    sweepMs > 0
      ? setInterval(() => {
          sweep().catch((error: unknown) =>
            logger.warn({ error: String(error) }, 'bus: retention sweep failed'),
          );
        }, sweepMs)
      : undefined;
  sweepTimer?.unref();

  return {
    kind: 'embedded',
    ensureTopics,
    publish,
    subscribe: oneSubscriptionPerGroup(subscribe),
    replay,
    sweep,
    async check() {
      if (closed) throw new Error('bus: closed');
      await pool.query('SELECT 1 FROM bus.schema_version LIMIT 1');
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweepTimer);
      await Promise.allSettled([...subscriptions].map((s) => s.close()));
      await batcher.close();
      await notifications.close();
      if (ownPool) await pool.end();
    },
  };
}
