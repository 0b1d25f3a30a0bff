/**
 * The runner starts registered services in both modes against real infrastructure: embedded
 * (embedded Postgres, the embedded bus, service in-process) and local (the infra launcher's
 * Kafka and Postgres, service as its own process), and reports their health.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EchoService } from '@anfang/contracts';
import { removePostgresData } from '@anfang/infra';
import { createGrpcClient } from '@anfang/platform/grpc';
import { freePortBlock, waitFor } from '@anfang/testing';
import { startPlatform, type RunningPlatform } from '../src/runner.ts';
import type { PlatformStatus } from '../src/status-server.ts';

const fixtureRoot = join(import.meta.dirname, 'fixtures');

async function fetchStatus(url: string): Promise<PlatformStatus> {
  const response = await fetch(new URL('/status', url));
  return (await response.json()) as PlatformStatus;
}

async function echoThrough(port: number, message: string): Promise<string> {
  const client = createGrpcClient(EchoService.definition, `127.0.0.1:${port}`, { deadlineMs: 5_000 });
  try {
    return (await client.echo({ message })).message;
  } finally {
    client.close();
  }
}

describe.each([{ mode: 'embedded' as const }, { mode: 'local' as const }])(
  'runner in $mode mode',
  ({ mode }) => {
    let platform: RunningPlatform | undefined;
    let dataDir = '';
    // Below the kernel's ephemeral range, where no outgoing connection can take them first.
    let statusPort = 0;
    let grpcBasePort = 0;

    afterAll(async () => {
      await platform?.stop();
      if (!dataDir) return;
      // As root, Postgres data under a 0700 temp folder lives in /var/lib/anfang: remove it too.
      await removePostgresData({ dataDir: join(dataDir, 'postgres') });
      await rm(dataDir, { recursive: true, force: true });
    });

    it('starts the registered service and reports the platform ready', async () => {
      dataDir = await mkdtemp(join(tmpdir(), `anfang-runner-${mode}-`));
      const first = await freePortBlock(10);
      statusPort = first;
      grpcBasePort = first + 1;
      platform = await startPlatform({
        root: fixtureRoot,
        mode,
        statusPort,
        dataDir,
        postgresPort: first + 2,
        grpcBasePort,
        httpBasePort: first + 5,
        log: () => undefined,
      });
      await waitFor(async () => (await fetch(new URL('/readyz', platform!.statusUrl))).status === 200, {
        timeoutMs: 30_000,
        message: 'platform ready',
      });
      const status = await fetchStatus(platform.statusUrl);
      expect(status.mode).toBe(mode);
      expect(status.services.map((s) => [s.name, s.ok])).toEqual([['echo', true]]);
      expect(status.infrastructure.every((c) => c.ok)).toBe(true);
      expect(await echoThrough(grpcBasePort, `hello ${mode}`)).toBe(`hello ${mode}`);
      // Field-encryption keys exist as owner-only files (handed to services as DATA_KEYS_FILE).
      const keys = await stat(join(dataDir, 'secrets', 'data-keys'));
      expect(keys.mode & 0o777).toBe(0o600);
    });

    it('reports not ready from the moment it stops', async () => {
      const stopping = platform!.stop();
      await stopping;
      platform = undefined;
      await expect(fetch(new URL('/readyz', `http://127.0.0.1:${statusPort}/`))).rejects.toThrow();
      await expect(echoThrough(grpcBasePort, 'after stop')).rejects.toThrow();
    });
  },
);
