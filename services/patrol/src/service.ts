/**
 * patrol's ServiceModule: planning, rounds and violations over its own Postgres; the check-in
 * consumer; the round scheduler; PatrolService over gRPC. Violations leave through the outbox
 * relay. Wired telemetry first, then the database and bus, the relay, the consumer and the
 * scheduler, the servers; shutdown steps in phase order.
 */
import { PatrolService, reflectionPackageDefinition } from '@anfang/contracts';
import { createCallerVerifier } from '@anfang/platform/auth';
import { createEventPublisher } from '@anfang/platform/bus';
import { startOutboxRelay } from '@anfang/platform/pg';
import {
  openBus,
  openDatabase,
  type ServiceModule,
  startPeriodic,
  startService,
  serveApis,
} from '@anfang/platform/service';
import { loadPatrolConfig } from './config.ts';
import { consumeCheckIns } from './consumers/check-ins.ts';
import { patrolGrpcService } from './grpc/patrol-service.ts';
import { noticingPlanningChanges, noticingRoundChanges, startPatrolEvidence } from './scheduler/evidence.ts';
import { roundSchedulerPass } from './scheduler/scheduler.ts';
import { createPlanningStore } from './store/planning.ts';
import { createReportStore } from './store/reports.ts';
import { createRoundStore } from './store/rounds.ts';

const NAME = 'patrol';

const MIGRATIONS = new URL('./store/migrations', import.meta.url);

const patrolService: ServiceModule = {
  name: NAME,
  migrations: MIGRATIONS,
  description: 'electronic patrol: checkpoints, routes, schedules, rounds, violations, reports',
  start(env, options) {
    return startService(
      loadPatrolConfig(env, options.ownsProcess),
      options,
      async ({ config, logger, lifecycle, resources }) => {
        const pool = await openDatabase(config, resources, MIGRATIONS);
        const bus = await openBus(config, resources);

        const relay = startOutboxRelay({ pool, bus, logger });
        lifecycle.onShutdown('flush-producers', 'outbox relay', () => relay.stop());

        const evidence = startPatrolEvidence({
          pool,
          publisher: createEventPublisher({ bus, producer: config.OTEL_SERVICE_NAME }),
          windowHours: config.PATROL_EVIDENCE_WINDOW_HOURS,
          intervalMs: config.PATROL_EVIDENCE_INTERVAL_MS,
          debounceMs: config.PATROL_EVIDENCE_DEBOUNCE_MS,
          logger,
        });
        lifecycle.onShutdown('flush-producers', 'patrol evidence', () => evidence.stop());
        const planning = noticingPlanningChanges(createPlanningStore(pool), evidence.changed);
        const rounds = noticingRoundChanges(
          createRoundStore(pool, config.OTEL_SERVICE_NAME, {
            closeGraceMinutes: config.PATROL_CLOSE_GRACE_MINUTES,
            earlyWindowMinutes: config.PATROL_ROUND_EARLY_MINUTES,
          }),
          evidence.changed,
        );
        const reports = createReportStore(pool);

        const checkIns = await consumeCheckIns(bus, rounds, { group: config.OTEL_SERVICE_NAME, logger });
        lifecycle.onShutdown('drain-consumers', 'check-ins', () => checkIns.close());

        const schedulerPass = roundSchedulerPass({
          rounds,
          window: {
            lookbackHours: config.PATROL_SCHEDULE_LOOKBACK_HOURS,
            aheadHours: config.PATROL_SCHEDULE_AHEAD_HOURS,
          },
          logger,
        });
        // One pass before the service is ready, so rounds exist before the first check-in.
        await schedulerPass();
        const scheduler = startPeriodic(
          'round scheduler',
          config.PATROL_SCHEDULER_INTERVAL_MS,
          schedulerPass,
          logger,
        );
        lifecycle.onShutdown('drain-consumers', 'scheduler', () => scheduler.stop());

        // Probes and metrics only; the API is gRPC (REST through the gateway's annotations).
        const callers = createCallerVerifier({ key: config.CALLER_TOKEN_KEY });
        const ports = await serveApis(config, resources, {
          callers,
          services: [
            patrolGrpcService({
              verifier: callers,
              planning,
              rounds,
              reports,
            }),
          ],
          reflection: reflectionPackageDefinition([PatrolService.name]),
        });

        return ports;
      },
    );
  },
};

export default patrolService;
