/** The runner as a library: what `./anfang start` does, for tests of the whole platform. */
export { discoverServices, type DiscoveredService } from './discover.ts';
export { startPlatform, type RunnerOptions, type RunningPlatform } from './runner.ts';
export type { ComponentStatus, PlatformStatus } from './status-server.ts';
