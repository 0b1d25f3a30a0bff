/**
 * The embedded mode's Postgres on a fresh data directory below a 0700 folder (as a CI clone in
 * a mktemp folder is): it starts (as root: from /var/lib/anfang), keeps running when the
 * process that started it is SIGKILLed, is adopted with its data by the next start, and starts
 * again on the same data after a clean stop.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresDataLocations, removePostgresData } from '@anfang/infra';
import { startEmbeddedPostgres } from '../src/embedded-postgres.ts';

const parent = mkdtempSync(join(tmpdir(), 'anfang-embedded-pg-')); // mode 0700
const dataDir = join(parent, 'var', 'embedded', 'postgres');
const lines: string[] = [];
const log = (line: string) => lines.push(line);

afterAll(async () => {
  await removePostgresData({ dataDir }).catch(() => undefined);
  rmSync(parent, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Starts the server from another process, writes a row, and kills that process with SIGKILL. */
async function startInChildAndKill(port: number): Promise<void> {
  const module = fileURLToPath(new URL('../src/embedded-postgres.ts', import.meta.url));
  const script = `
    import { startEmbeddedPostgres } from ${JSON.stringify(module)};
    const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port}, log: (l) => console.error(l) });
    console.log('URL ' + pg.url('postgres'));
    setInterval(() => undefined, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /URL (\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}): ${err}`)));
  });
  await query(url, 'create table kept (v text)');
  await query(url, "insert into kept values ('before the kill')");
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('embedded Postgres', () => {
  it('survives a SIGKILLed runner, is adopted with its data, and restarts on it', async () => {
    const port = await freePort();
    await startInChildAndKill(port);

    const adopted = await startEmbeddedPostgres({ dataDir, port, log });
    expect(lines.some((l) => l.includes('adopting'))).toBe(true);
    expect(await query(adopted.url('postgres'), 'select v from kept')).toEqual([{ v: 'before the kill' }]);
    await adopted.stop();
    await expect(query(adopted.url('postgres'), 'select 1')).rejects.toThrow();

    lines.length = 0;
    const restarted = await startEmbeddedPostgres({ dataDir, port, log });
    expect(lines.some((l) => l.includes('starting Postgres'))).toBe(true);
    expect(await query(restarted.url('postgres'), 'select v from kept')).toEqual([{ v: 'before the kill' }]);

    // As root, user postgres cannot traverse the 0700 folder: the data lives in /var/lib/anfang.
    const loc = postgresDataLocations(dataDir);
    const expected = process.getuid?.() === 0 ? loc.relocated : loc.requested;
    expect(existsSync(join(expected, 'PG_VERSION'))).toBe(true);
    await restarted.stop();
  }, 180_000);
});
