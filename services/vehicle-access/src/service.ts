/**
 * vehicle-access's ServiceModule: the registry, watchlists and site configuration (gRPC), the
 * barrier decision on every plate read and the police disposition commands (one consumer), over
 * its own Postgres, the bus and the cache (consumer dedupe). Wired in the platform's order by
 * startService — telemetry first, then stores and migrations, consumers, servers — with shutdown
 * steps in phase order.
 */
import { createCallerVerifier } from '@anfang/platform/auth';
import { reflectionPackageDefinition, VehicleAccessService } from '@anfang/contracts';
import { createEventPublisher } from '@anfang/platform/bus';
import { createFieldCipher } from '@anfang/platform/crypto';
import { startOutboxRelay } from '@anfang/platform/pg';
import {
  openBus,
  openCache,
  openDatabase,
  startService,
  type ServiceModule,
  serveApis,
} from '@anfang/platform/service';
import { loadVehicleAccessConfig } from './config.ts';
import { startConsumers } from './consumers/index.ts';
import { createDecisionPipeline } from './consumers/plate-reads.ts';
import { createPoliceCommandHandler } from './consumers/police-commands.ts';
import { createAccess } from './grpc/access.ts';
import { vehicleAccessGrpcService } from './grpc/vehicle-access-service.ts';
import { createPassageStore } from './store/passages.ts';
import {
  createSiteStore,
  createVehicleStore,
  createVisitorStore,
  createWatchlistStore,
} from './store/registry.ts';

const NAME = 'vehicle-access';

const MIGRATIONS = new URL('./store/migrations', import.meta.url);

const vehicleAccessService: ServiceModule = {
  name: NAME,
  migrations: MIGRATIONS,
  description: 'vehicles, visitor vehicles, watchlists (布控), barrier decisions, passages and parking',
  start(env, options) {
    return startService(
      loadVehicleAccessConfig(env, options.ownsProcess),
      options,
      async ({ config, logger, lifecycle, resources }) => {
        const pool = await openDatabase(config, resources, MIGRATIONS);
        const cipher = createFieldCipher(config.DATA_KEYS);
        const bus = await openBus(config, resources);
        const cache = openCache(config, NAME, resources);
        const producer = config.OTEL_SERVICE_NAME;

        const watchlist = createWatchlistStore(pool);
        const sites = createSiteStore(pool);
        const passages = createPassageStore(pool, producer);

        // Passages, barrier commands and command results; watchlist hits bypass it (direct publish).
        const relay = startOutboxRelay({ pool, bus, logger });
        lifecycle.onShutdown('flush-producers', 'outbox relay', () => relay.stop());

        const subscription = await startConsumers(bus, {
          group: producer,
          dedupe: cache,
          concurrency: config.VEHICLE_PLATE_READ_CONCURRENCY,
          plateReads: createDecisionPipeline({
            pool,
            events: createEventPublisher({ bus, producer }),
            producer,
            playbackMarginMs: config.VEHICLE_PLAYBACK_MARGIN_SECONDS * 1000,
            logger,
          }),
          policeCommands: createPoliceCommandHandler({
            pool,
            watchlist,
            producer,
            dispositionAction: config.VEHICLE_DISPOSITION_ACTION,
            logger,
          }),
        });
        lifecycle.onShutdown('drain-consumers', 'bus consumers', () => subscription.close());

        const callers = createCallerVerifier({ key: config.CALLER_TOKEN_KEY });
        const ports = await serveApis(config, resources, {
          callers,
          services: [
            vehicleAccessGrpcService({
              pool,
              access: createAccess(callers),
              vehicles: createVehicleStore(pool, config.OTEL_SERVICE_NAME),
              visitors: createVisitorStore(pool, cipher),
              watchlist,
              sites,
              passages,
              logger,
            }),
          ],
          reflection: reflectionPackageDefinition([VehicleAccessService.name]),
        });
        return ports;
      },
    );
  },
};

export default vehicleAccessService;
