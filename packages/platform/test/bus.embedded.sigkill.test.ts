/**
 * The embedded bus survives kill -9: a producer process and a consumer process run against a
 * real Postgres and are SIGKILLed mid-stream; a restarted consumer then receives every message
 * whose publish had been acknowledged (at-least-once), and after dedupe by event id each one is
 * applied exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { createTestDatabase, uniqueName, waitFor, type TestDatabase } from '@anfang/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./bus.sigkill.child.ts', import.meta.url));

interface Proc {
  readonly process: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<NodeJS.Signals | number | null>;
  stderr: string;
}

function start(args: string[]): Proc {
  const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result: Proc = {
    process: proc,
    lines: [],
    stderr: '',
    exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve(signal ?? code))),
  };
  createInterface({ input: proc.stdout! }).on('line', (line) => result.lines.push(line));
  proc.stderr!.on('data', (chunk: Buffer) => (result.stderr += chunk.toString()));
  return result;
}

const ids = (proc: Proc, verb: string): string[] =>
  proc.lines.filter((l) => l.startsWith(`${verb} `)).map((l) => l.slice(verb.length + 1));

async function kill(proc: Proc): Promise<void> {
  proc.process.kill('SIGKILL');
  expect(await proc.exited).toBe('SIGKILL');
}

describe('embedded bus: SIGKILL of producer and consumer', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const running: Proc[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('bus-sigkill');
    pool = db.pool(2);
  });
  afterAll(async () => {
    for (const p of running)
      if (p.process.exitCode === null && p.process.signalCode === null) p.process.kill('SIGKILL');
    await db?.drop();
  });

  it('delivers every acknowledged message after a restart, exactly once after dedupe', async () => {
    try {
      await scenario();
    } catch (error) {
      // The children's stderr explains most failures.
      for (const p of running)
        if (p.stderr) console.error(`child ${p.process.spawnargs.slice(2, 3).join(' ')}:`, p.stderr);
      throw error;
    }
  }, 400_000);

  async function scenario(): Promise<void> {
    const topic = uniqueName('bus-sigkill');
    const group = uniqueName('g-sigkill');

    const producer = start(['producer', db.url, topic]);
    running.push(producer);
    await waitFor(() => producer.lines.includes('READY'), { timeoutMs: 30_000, message: 'producer ready' });
    const consumer1 = start(['consumer', db.url, topic, group, '1']);
    running.push(consumer1);

    // Mid-stream: the producer has acknowledged plenty and the consumer has handled some.
    await waitFor(() => ids(producer, 'ACK').length >= 500 && ids(consumer1, 'GOT').length >= 100, {
      timeoutMs: 60_000,
      message: 'producer and consumer running',
    });
    await Promise.all([kill(producer), kill(consumer1)]);
    const acked = new Set(ids(producer, 'ACK'));
    const sent = new Set(ids(producer, 'SEND'));
    const gotBefore = ids(consumer1, 'GOT').length;
    expect(acked.size).toBeGreaterThanOrEqual(500);

    const consumer2 = start(['consumer', db.url, topic, group, '2']);
    running.push(consumer2);
    const delivered = async (): Promise<Set<string>> => {
      const { rows } = await pool.query<{ event_id: string }>(
        'SELECT DISTINCT event_id FROM sigkill_deliveries',
      );
      return new Set(rows.map((r) => r.event_id));
    };
    // The backlog is whatever the producer got ahead by, larger the busier the machine: wait as
    // long as the restarted consumer makes progress, and fail only when it stalls.
    let missing = acked.size;
    let progressAt = Date.now();
    while (missing > 0) {
      if (Date.now() - progressAt > 60_000)
        throw new Error(`the restarted consumer stalled with ${missing} acknowledged messages undelivered`);
      await new Promise((r) => setTimeout(r, 250));
      const got = await delivered();
      const now = [...acked].filter((id) => !got.has(id)).length;
      if (now < missing) progressAt = Date.now();
      missing = now;
    }
    // Let it drain what was committed but not acknowledged before the kill, then stop it too.
    await new Promise((r) => setTimeout(r, 1_500));
    await kill(consumer2);

    const { rows: deliveries } = await pool.query<{ event_id: string; run: number }>(
      'SELECT event_id, run FROM sigkill_deliveries',
    );
    const byId = new Map<string, number>();
    for (const d of deliveries) byId.set(d.event_id, (byId.get(d.event_id) ?? 0) + 1);
    // At-least-once: every acknowledged message reached the group.
    for (const id of acked) expect(byId.has(id)).toBe(true);
    // Nothing that was never sent; unacknowledged sends may or may not have been committed.
    for (const id of byId.keys()) expect(sent.has(id)).toBe(true);
    // Redeliveries exist only around the crash and are bounded (one uncommitted batch per partition).
    const duplicates = [...byId.values()].filter((n) => n > 1).length;
    expect(duplicates).toBeLessThanOrEqual(4 * 50);
    // After dedupe by event id, each message was applied exactly once.
    const { rows: marks } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM sigkill_marks');
    const { rows: counts } = await pool.query<{ n: string }>(
      'SELECT coalesce(sum(n), 0) AS n FROM sigkill_counts',
    );
    expect(Number(marks[0]!.n)).toBe(byId.size);
    expect(Number(counts[0]!.n)).toBe(byId.size);
    console.info(
      `sigkill: ${acked.size} acknowledged, ${sent.size - acked.size} in flight at the kill, ${gotBefore} handled before it, ` +
        `${byId.size} distinct delivered, ${duplicates} redelivered after the restart`,
    );
  }
});
