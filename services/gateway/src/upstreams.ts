/**
 * Which service serves which gRPC API, and the environment variable that carries its address
 * (`SERVICE_GRPC_ADDR_<NAME>`, set by the runner for every started service and by the chart for
 * every enabled component). EchoService is the platform's test fixture: no deployed service
 * serves it, so it is neither routed nor documented.
 */
export const UPSTREAMS = {
  'anfang.alarm.v1.PerimeterAlarmService': 'perimeter-alarms',
  'anfang.compliance.v1.ComplianceService': 'compliance-scoring',
  'anfang.device.v1.DeviceRegistryService': 'device-ingest',
  'anfang.identity.v1.IdentityService': 'identity',
  'anfang.patrol.v1.PatrolService': 'patrol',
  'anfang.vehicle.v1.VehicleAccessService': 'vehicle-access',
  'anfang.video.v1.VideoIndexService': 'video-index',
  'anfang.police.v1.PoliceUploadService': 'police-upload',
} as const satisfies Record<string, string>;

export type RoutedService = keyof typeof UPSTREAMS;
export type UpstreamName = (typeof UPSTREAMS)[RoutedService];

export const NOT_ROUTED: readonly string[] = ['anfang.platform.v1.EchoService'];

/** `perimeter-alarms` → `SERVICE_GRPC_ADDR_PERIMETER_ALARMS`. */
export function addressEnvKey(name: string): string {
  return `SERVICE_GRPC_ADDR_${name.toUpperCase().replace(/-/g, '_')}`;
}

export function isRouted(serviceName: string): serviceName is RoutedService {
  return Object.hasOwn(UPSTREAMS, serviceName);
}
