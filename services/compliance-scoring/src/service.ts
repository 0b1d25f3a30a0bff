/**
 * compliance-scoring's ServiceModule: the compound registry and scores over its own Postgres,
 * the evidence consumer (device registry, device status, upload health, storage and patrol
 * reports), level-changed events
 * through the outbox, and the ComplianceService over gRPC. Wired in the platform's order —
 * telemetry first, then the database, consumers, servers — with shutdown steps in phase order.
 */
import { readFile } from 'node:fs/promises';
import { ComplianceService, reflectionPackageDefinition } from '@anfang/contracts';
import { createCallerVerifier } from '@anfang/platform/auth';
import type { Logger } from '@anfang/platform/log';
import { startOutboxRelay } from '@anfang/platform/pg';
import {
  openBus,
  openDatabase,
  type ServiceModule,
  startProcessedPruning,
  startService,
  serveApis,
} from '@anfang/platform/service';
import { loadComplianceConfig } from './config.ts';
import { startEvidenceConsumer } from './consumers/evidence-consumer.ts';
import { startTimedEvidence } from './consumers/timed-evidence.ts';
import { parseCompoundCsv } from './domain/csv.ts';
import { tableVersion } from './domain/tables.ts';
import { complianceGrpcService } from './grpc/compliance-service.ts';
import { createCompoundStore, type CompoundStore } from './store/compounds.ts';
import { importCompoundRows } from './store/import.ts';
import { startDailyStandings } from './store/standings-recorder.ts';
import { createScorer } from './store/scores.ts';

const NAME = 'compliance-scoring';
const SEED_FILE = new URL('../data/seed-compounds.csv', import.meta.url);

/** The district's listed compounds, on a first start only: later the registry is the API's. */
async function seedCompounds(compounds: CompoundStore, logger: Logger): Promise<void> {
  if ((await compounds.count()) > 0) return;
  const rows = parseCompoundCsv(await readFile(SEED_FILE));
  let last;
  for await (const step of importCompoundRows(compounds, rows, new AbortController().signal)) last = step;
  for (const error of last?.errors ?? [])
    logger.error({ line: error.line, problems: error.violations }, 'seed row refused');
  logger.info({ created: last?.outcomes.created, failed: last?.failed }, 'compounds seeded');
}

const MIGRATIONS = new URL('./store/migrations', import.meta.url);

const complianceScoringService: ServiceModule = {
  name: NAME,
  migrations: MIGRATIONS,
  description:
    'compounds, the configuration tables, compliance levels, district coverage and networking rates',
  start(env, options) {
    return startService(
      loadComplianceConfig(env, options.ownsProcess),
      options,
      async ({ config, logger, lifecycle, resources }) => {
        const pool = await openDatabase(config, resources, MIGRATIONS);
        const bus = await openBus(config, resources);
        const version = tableVersion(config.COMPLIANCE_TABLE_VERSION)!;

        // The relay publishes level changes; it stops before the bus.
        const relay = startOutboxRelay({ pool, bus, logger });
        lifecycle.onShutdown('flush-producers', 'outbox relay', () => relay.stop());

        const scorer = createScorer({ pool, version, producer: config.OTEL_SERVICE_NAME });
        const compounds = createCompoundStore(pool, scorer);
        if (config.COMPLIANCE_SEED_COMPOUNDS) await seedCompounds(compounds, logger);
        // Scores of another table version (a newly published table) are recomputed before serving.
        const rescored = await scorer.rescoreStale();
        if (rescored > 0) logger.info({ rescored, tableVersion: version.version }, 'stale scores recomputed');

        // Stops in the phase after the consumer's, so the consumer's last sightings are written.
        const timed = startTimedEvidence({
          pool,
          scorer,
          logger,
          dataWindowMs: config.COMPLIANCE_DATA_WINDOW_MS,
          uploadTtlMs: config.COMPLIANCE_UPLOAD_HEALTH_TTL_MS,
          storageTtlMs: config.COMPLIANCE_STORAGE_EVIDENCE_TTL_MS,
          patrolTtlMs: config.COMPLIANCE_PATROL_EVIDENCE_TTL_MS,
          sweepIntervalMs: config.COMPLIANCE_EVIDENCE_SWEEP_INTERVAL_MS,
        });
        lifecycle.onShutdown('flush-producers', 'timed evidence', () => timed.stop());
        const consumer = await startEvidenceConsumer({
          timed,
          bus,
          pool,
          scorer,
          logger,
          group: config.COMPLIANCE_CONSUMER_GROUP ?? config.OTEL_SERVICE_NAME,
          start: config.COMPLIANCE_CONSUMER_START,
        });
        lifecycle.onShutdown('drain-consumers', 'evidence consumer', () => consumer.close());
        // Event ids are kept for the redelivery window of the time-retained topics; a registry
        // state replayed later from the compacted topic is ignored by its revision anyway.
        startProcessedPruning(pool, resources);

        const standings = startDailyStandings({
          pool,
          timeZone: config.COMPLIANCE_TIME_ZONE,
          intervalMs: config.COMPLIANCE_STANDINGS_INTERVAL_MS,
          logger,
        });
        lifecycle.onShutdown('drain-consumers', 'daily standings', () => standings.stop());

        const callers = createCallerVerifier({ key: config.CALLER_TOKEN_KEY });
        const ports = await serveApis(config, resources, {
          callers,
          services: [
            complianceGrpcService({
              verifier: callers,
              compounds,
              scorer,
              version,
              targetYear: () => config.COMPLIANCE_TARGET_YEAR ?? new Date().getUTCFullYear(),
              pool,
              timeZone: config.COMPLIANCE_TIME_ZONE,
            }),
          ],
          reflection: reflectionPackageDefinition([ComplianceService.name]),
        });

        return ports;
      },
    );
  },
};

export default complianceScoringService;
