/**
 * A service's two front doors, the same in every service: its gRPC API (every call authenticated,
 * the health service following readiness, reflection) on GRPC_PORT, and its HTTP port (probes, metrics, and any
 * routes of its own) on HTTP_PORT — both stopped in `stop-accepting`.
 */
import { authenticatedService, type CallerVerifier } from '../auth/index.ts';
import type { GrpcService, GrpcServerOptions } from '../grpc/index.ts';
import { createGrpcServer } from '../grpc/index.ts';
import { createHttpApp, listen, type HttpAppOptions } from '../http/index.ts';
import type { ResourceContext } from './resources.ts';

export interface ApiPorts {
  readonly GRPC_PORT: number;
  readonly HTTP_PORT: number;
}

export interface ServeApisOptions {
  readonly services: readonly GrpcService<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Reflection descriptors of the services (`reflectionPackageDefinition` of @anfang/contracts). */
  readonly reflection: GrpcServerOptions['reflection'];
  /** The service's own HTTP routes, beside /healthz, /readyz and /metrics. */
  readonly routes?: HttpAppOptions['routes'];
  /** Body limit and `trust proxy` of the HTTP app, for a service that serves people (the gateway). */
  readonly http?: Pick<HttpAppOptions, 'bodyLimit' | 'trustProxy'>;
  /**
   * Every call of every service authenticated before its handler runs (UNAUTHENTICATED without
   * a valid caller token, whatever the request holds); handlers still check role and scope.
   */
  readonly callers: CallerVerifier;
}

export async function serveApis(
  ports: ApiPorts,
  { lifecycle, logger }: ResourceContext,
  options: ServeApisOptions,
): Promise<{ grpc: number; http: number }> {
  const grpc = await createGrpcServer({
    services: options.services.map((service) => authenticatedService(service, options.callers)),
    port: ports.GRPC_PORT,
    logger,
    readiness: lifecycle.readiness,
    ...(options.reflection ? { reflection: options.reflection } : {}),
  });
  lifecycle.onShutdown('stop-accepting', 'grpc', () => grpc.shutdown());
  const http = await listen(
    createHttpApp({
      logger,
      readiness: lifecycle.readiness,
      ...(options.routes ? { routes: options.routes } : {}),
      ...options.http,
    }),
    ports.HTTP_PORT,
  );
  lifecycle.onShutdown('stop-accepting', 'http', () => http.close());
  return { grpc: grpc.port, http: http.port };
}
