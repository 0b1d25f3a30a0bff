/**
 * Fixtures for integration tests over the real local infrastructure (`./anfang infra up`):
 * every test file gets its own database, buckets, topics and Redis key prefix.
 */
export { findEnvJson, infraEnv, type InfraEnv } from './env.ts';
export { uniqueName, waitFor, type WaitForOptions } from './names.ts';
export { createTestDatabase, type TestDatabase } from './postgres.ts';
export { createTestBucket, emptyBucket, s3Client, s3StoreOptions, type TestBucket } from './s3.ts';
export {
  createTestTopic,
  deleteTopics,
  ensureTopics,
  groupMembers,
  createTopicsWithLeaders,
  kafkaClient,
  type GroupMember,
  type TestTopic,
} from './kafka.ts';
export { cpuLimit, type CpuLimit } from './cpu-limit.ts';
export { startCpuProfile, type CpuProfileRecording } from './cpu-profile.ts';
export { ephemeralPortStart, freePort, freePortBlock, portBaseFrom } from './ports.ts';
export { startOwnInfra, type OwnInfra, type OwnInfraOptions, type OwnServer } from './own-infra.ts';
export { createTestRedisNamespace, type TestRedisNamespace } from './redis.ts';
export { TEST_CALLER_TOKEN_KEY, serviceTestEnv, type ServiceTestEnvOptions } from './service-env.ts';
export {
  watchTopics,
  type TopicWatch,
  type TopicWatchOptions,
  type WatchableBus,
  type WatchedTopic,
} from './watch.ts';
export {
  BENCH_REPORT_ENV,
  benchReport,
  printTable,
  reportGoals,
  type BenchGoal,
  type BenchReport,
} from './bench-report.ts';
/** Path of the script that runs one service in a child process for benchmarks (see the file). */
export const SERVICE_CHILD = new URL('./service-child.ts', import.meta.url).pathname;
/** SERVICE_CHILD and the files it imports: what a bundle must add to run it (`extraFiles`). */
export const SERVICE_CHILD_FILES: readonly string[] = [
  SERVICE_CHILD,
  new URL('./cpu-profile.ts', import.meta.url).pathname,
];
/** Path of gc-promotion.ts, for a probe preloaded into a bundled service child (`extraFiles`). */
export const GC_PROMOTION_FILE = new URL('./gc-promotion.ts', import.meta.url).pathname;
export { promotionOf, recordPromotion, type Promotion } from './gc-promotion.ts';
export {
  machineCpu,
  type AccountedProcess,
  type CpuAccount,
  type CpuMark,
  type MachineCpu,
} from './machine-cpu.ts';
