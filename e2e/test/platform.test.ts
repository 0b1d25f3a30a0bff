/**
 * The platform as users start it — `./anfang start` in embedded mode (one process, embedded
 * Postgres and bus) and in local mode (every service its own process on Kafka, Postgres, Redis and
 * S3) — with the simulated devices: every registered service becomes ready, and device traffic
 * reaches device-ingest, which shows devices online per compound.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removePostgresData } from '@anfang/infra';
import { startPlatform, type RunningPlatform } from '@anfang/runner';
import { waitFor } from '@anfang/testing';
import { dropNamespace, platformPorts, root, serviceNames, waitReady, withLog } from './support/platform.ts';

const services = serviceNames;

interface DeviceStatusReport {
  compounds: { compoundId: string; online: number; offline: number }[];
}

describe.each([{ mode: 'embedded' as const }, { mode: 'local' as const }])(
  'the platform in $mode mode with simulated devices',
  ({ mode }) => {
    let platform: RunningPlatform | undefined;
    let dataDir = '';

    // Local mode shares the infrastructure: this install keeps its own databases and bucket.
    const namespace = mode === 'local' ? `e2e${Date.now().toString(36)}` : undefined;

    afterAll(async () => {
      await platform?.stop();
      if (namespace) await dropNamespace(namespace);
      if (!dataDir) return;
      await removePostgresData({ dataDir: join(dataDir, 'postgres') });
      await rm(dataDir, { recursive: true, force: true });
    });

    it(
      'starts every registered service ready, and device traffic shows devices online',
      { timeout: 300_000 },
      async () => {
        expect(services).toContain('device-ingest');
        dataDir = await mkdtemp(join(tmpdir(), `anfang-e2e-${mode}-`));
        const lines: string[] = [];
        const ports = await platformPorts();
        platform = await startPlatform({
          root,
          mode,
          statusPort: ports.status,
          dataDir,
          postgresPort: ports.postgres,
          grpcBasePort: ports.grpcBase,
          httpBasePort: ports.httpBase,
          devicePort: ports.device,
          ...(namespace ? { namespace } : {}),
          // The suite runs after `./anfang infra up`, which may belong to another checkout.
          startInfrastructure: false,
          simulate: { rate: 20 },
          log: (line) => lines.push(line),
        });

        const status = await waitReady(platform.statusUrl, lines, 120_000);
        expect(status.services.map((s) => s.name).sort()).toEqual([...services, 'simulator'].sort());
        expect(status.infrastructure.every((c) => c.ok)).toBe(true);

        const ingest = services.indexOf('device-ingest');
        const report = await waitFor(
          async () => {
            const response = await fetch(`http://127.0.0.1:${ports.httpBase + ingest}/status/devices`);
            const body = (await response.json()) as DeviceStatusReport;
            const online = body.compounds.reduce((n, c) => n + c.online, 0);
            return online >= 50 ? body : undefined;
          },
          { timeoutMs: 120_000, message: 'devices not online' },
        ).catch(withLog(lines));
        expect(report.compounds.length).toBeGreaterThanOrEqual(37);
      },
    );
  },
);
