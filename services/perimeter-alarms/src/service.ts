/**
 * perimeter-alarms' ServiceModule: zones, duty rules and alarms over its own Postgres; the
 * trigger consumer (one subscription over every alarming topic); the escalation job;
 * PerimeterAlarmService over gRPC; the unacknowledged-alarm gauges. Alarm and image-hold events
 * leave through the outbox relay. Wired telemetry first, then the database and bus, the relay,
 * the consumer and the job, the servers; shutdown steps in phase order.
 */
import { PerimeterAlarmService, reflectionPackageDefinition } from '@anfang/contracts';
import { createCallerVerifier } from '@anfang/platform/auth';
import { startOutboxRelay } from '@anfang/platform/pg';
import {
  openBus,
  openDatabase,
  type ServiceModule,
  startPeriodic,
  startProcessedPruning,
  startService,
  serveApis,
} from '@anfang/platform/service';
import { loadAlarmsConfig } from './config.ts';
import { consumeTriggers } from './consumers/triggers.ts';
import { perimeterAlarmGrpcService } from './grpc/perimeter-alarm-service.ts';
import { escalationPass } from './jobs/escalation.ts';
import { registerAlarmMetrics } from './metrics.ts';
import { createAlarmStore } from './store/alarms.ts';
import { createZoneStore } from './store/zones.ts';

const NAME = 'perimeter-alarms';

const MIGRATIONS = new URL('./store/migrations', import.meta.url);

const SECOND_MS = 1000;

const perimeterAlarmsService: ServiceModule = {
  name: NAME,
  migrations: MIGRATIONS,
  description: 'perimeter and event alarms: zones, arming, alarm lifecycle, flood control, escalation',
  start(env, options) {
    return startService(
      loadAlarmsConfig(env, options.ownsProcess),
      options,
      async ({ config, logger, lifecycle, resources }) => {
        const pool = await openDatabase(config, resources, MIGRATIONS);
        const bus = await openBus(config, resources);

        const relay = startOutboxRelay({ pool, bus, logger });
        lifecycle.onShutdown('flush-producers', 'outbox relay', () => relay.stop());

        const playback = {
          beforeMs: config.ALARM_PLAYBACK_BEFORE_SECONDS * SECOND_MS,
          afterMs: config.ALARM_PLAYBACK_AFTER_SECONDS * SECOND_MS,
        };
        const zones = createZoneStore(pool);
        const alarms = createAlarmStore(pool, {
          producer: config.OTEL_SERVICE_NAME,
          group: config.OTEL_SERVICE_NAME,
          floodWindowMs: config.ALARM_FLOOD_WINDOW_SECONDS * SECOND_MS,
          escalation: {
            limits: {
              critical: config.ALARM_ACK_CRITICAL_SECONDS * SECOND_MS,
              high: config.ALARM_ACK_HIGH_SECONDS * SECOND_MS,
              medium: config.ALARM_ACK_MEDIUM_SECONDS * SECOND_MS,
              low: config.ALARM_ACK_LOW_SECONDS * SECOND_MS,
            },
            maxLevel: config.ALARM_MAX_ESCALATION_LEVEL,
          },
          playback,
        });

        const triggers = await consumeTriggers(bus, alarms, {
          group: config.OTEL_SERVICE_NAME,
          concurrency: config.ALARM_CONSUMER_CONCURRENCY,
          logger,
        });
        lifecycle.onShutdown('drain-consumers', 'triggers', () => triggers.close());

        startProcessedPruning(pool, resources);

        const escalation = startPeriodic(
          'escalation',
          config.ALARM_ESCALATION_INTERVAL_MS,
          escalationPass({ alarms, logger }),
          logger,
        );
        lifecycle.onShutdown('drain-consumers', 'escalation', () => escalation.stop());

        const gauges = registerAlarmMetrics(alarms, logger);
        lifecycle.onShutdown('drain-consumers', 'alarm metrics', () => gauges.close());

        // Probes and metrics only over HTTP; the API is gRPC (REST through the gateway's annotations).
        const callers = createCallerVerifier({ key: config.CALLER_TOKEN_KEY });
        return serveApis(config, resources, {
          callers,
          services: [perimeterAlarmGrpcService({ verifier: callers, zones, alarms, playback })],
          reflection: reflectionPackageDefinition([PerimeterAlarmService.name]),
        });
      },
    );
  },
};

export default perimeterAlarmsService;
