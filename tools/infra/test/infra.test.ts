/**
 * Proves the fixtures of @anfang/testing against the real servers of `./anfang infra up`:
 * a database, a bucket (one object put and read back), a topic (one message produced and
 * consumed by a group) and a Redis key. Needs the infrastructure up.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Partitioners } from 'kafkajs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTestBucket,
  createTestDatabase,
  createTestRedisNamespace,
  createTopicsWithLeaders,
  deleteTopics,
  infraEnv,
  kafkaClient,
  s3Client,
  uniqueName,
  waitFor,
} from '@anfang/testing';
import { ports } from '../src/config.ts';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
});

describe('local infrastructure', () => {
  it('status reports every server up', async () => {
    const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'status', '--json']);
    const list = JSON.parse(stdout) as { name: string; state: string; port: number; pid: number }[];
    expect(list.map((s) => [s.name, s.state])).toEqual([
      ['postgres', 'up'],
      ['redis', 'up'],
      ['kafka', 'up'],
      ['s3', 'up'],
    ]);
    for (const s of list) expect(s.pid).toBeGreaterThan(0);
  });

  it('infraEnv gives the loopback servers', () => {
    const env = infraEnv();
    expect(env.pgUrl).toMatch(new RegExp(`^postgres://.+@127\\.0\\.0\\.1:${ports.postgres}/postgres$`));
    expect(env.kafkaBrokers).toEqual([`127.0.0.1:${ports.kafka}`]);
    expect(env.redisUrl).toBe(`redis://127.0.0.1:${ports.redis}`);
    expect(env.s3).toEqual({
      endpoint: `http://127.0.0.1:${ports.s3}`,
      accessKey: 'anfang',
      secretKey: 'anfang-local-secret',
      region: 'us-east-1',
    });
  });

  it('creates, uses and drops a test database', async () => {
    const db = await createTestDatabase('infra-test');
    cleanup.push(db.drop);
    expect(db.name).toMatch(/^infra-test-[a-z0-9]{10}$/);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('create table t (id int primary key, v text)');
      await client.query("insert into t values (1, 'one')");
      const { rows } = await client.query<{ db: string; v: string }>(
        'select current_database() as db, v from t',
      );
      expect(rows).toEqual([{ db: db.name, v: 'one' }]);
    } finally {
      // drop() must work even with a connection still open: leave one open on purpose.
      const lingering = new pg.Client({ connectionString: db.url });
      lingering.on('error', () => undefined);
      await lingering.connect();
      await client.end();
      await db.drop();
      await lingering.end().catch(() => undefined);
    }
    const admin = new pg.Client({ connectionString: infraEnv().pgUrl });
    await admin.connect();
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [db.name]);
    await admin.end();
    expect(rowCount).toBe(0);
  });

  it("a test database's pool outlives its connections' deaths, and drop() ends it", async () => {
    const db = await createTestDatabase('infra-test-pool');
    cleanup.push(db.drop);
    const pool = db.pool(2);
    const held = await pool.connect();
    await pool.query('select 1');
    // One connection idle in the pool, one checked out and idle: with no listener, the death of
    // either would be an uncaught exception, which fails this file though every test passed.
    const admin = new pg.Client({ connectionString: infraEnv().pgUrl });
    await admin.connect();
    try {
      const { rowCount } = await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
        [db.name],
      );
      expect(rowCount).toBe(2);
    } finally {
      await admin.end();
    }
    await expect(held.query('select 1')).rejects.toThrow();
    held.release(true);
    // The pool opens a new connection for the next query.
    await waitFor(async () => (await pool.query<{ one: number }>('select 1 as one')).rows[0]?.one === 1, {
      timeoutMs: 5_000,
      message: 'the pool to reconnect',
    });
    await db.drop();
    expect(pool.ended || pool.ending).toBe(true);
  });

  it('creates a bucket, puts and gets an object, and drops it', async () => {
    const bucket = await createTestBucket('infra-test');
    cleanup.push(bucket.drop);
    const s3 = s3Client();
    const body = Buffer.from(`hello from ${bucket.bucket}`);
    await s3.putObject(bucket.bucket, 'a/b/hello.txt', body, body.length, { 'Content-Type': 'text/plain' });
    const stat = await s3.statObject(bucket.bucket, 'a/b/hello.txt');
    expect(stat.size).toBe(body.length);
    const stream = await s3.getObject(bucket.bucket, 'a/b/hello.txt');
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(body.toString());
    // A wrong secret must be refused: the store really checks signatures.
    const { Client } = await import('minio');
    const wrong = new Client({
      endPoint: '127.0.0.1',
      port: ports.s3,
      useSSL: false,
      accessKey: 'anfang',
      secretKey: 'not-the-secret',
      region: 'us-east-1',
      pathStyle: true,
    });
    await expect(wrong.statObject(bucket.bucket, 'a/b/hello.txt')).rejects.toThrow();
    await bucket.drop();
    expect(await s3.bucketExists(bucket.bucket)).toBe(false);
  });

  it('produces and consumes a message on a fresh topic, then deletes it', async () => {
    const topic = uniqueName('infra-test');
    cleanup.push(() => deleteTopics([topic]));
    const kafka = kafkaClient({ clientId: 'infra-test' });
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 2, replicationFactor: 1 }]);

    const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'device-1', value: 'hello kafka', headers: { 'event-id': 'e-1' } }],
    });
    await producer.disconnect();

    const received: { key: string; value: string; eventId: string }[] = [];
    const consumer = kafka.consumer({ groupId: uniqueName('infra-test-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          eventId: message.headers?.['event-id']?.toString() ?? '',
        });
      },
    });
    await waitFor(() => received.length > 0, { timeoutMs: 30_000, message: 'message not consumed' });
    await consumer.disconnect();
    expect(received).toEqual([{ key: 'device-1', value: 'hello kafka', eventId: 'e-1' }]);

    // Topics are not auto-created: producing to an unknown topic fails.
    const strict = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 1 },
    });
    await strict.connect();
    await expect(
      strict.send({ topic: uniqueName('no-such-topic'), messages: [{ value: 'x' }] }),
    ).rejects.toThrow();
    await strict.disconnect();

    await deleteTopics([topic, uniqueName('never-created')]);
    await waitFor(async () => !(await admin.listTopics()).includes(topic), {
      timeoutMs: 15_000,
      message: `topic ${topic} still listed after deleteTopics`,
    });
    await admin.disconnect();
  });

  it('sets and reads a Redis key under an isolated prefix', async () => {
    const ns = createTestRedisNamespace('infra-test');
    cleanup.push(ns.drop);
    const redis = new Redis(ns.url);
    try {
      await redis.set(`${ns.prefix}greeting`, 'hello redis', 'EX', 60);
      expect(await redis.get(`${ns.prefix}greeting`)).toBe('hello redis');
      expect(await redis.incr(`${ns.prefix}counter`)).toBe(1);
      expect(await redis.ttl(`${ns.prefix}greeting`)).toBeGreaterThan(0);
      await ns.drop();
      expect(await redis.exists(`${ns.prefix}greeting`, `${ns.prefix}counter`)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});
