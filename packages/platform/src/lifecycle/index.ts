/** Readiness and the ordered graceful shutdown with a deadline. See README.md § lifecycle. */
export {
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_SHUTDOWN_TIMEOUT,
  SHUTDOWN_PHASES,
  createLifecycle,
  type Lifecycle,
  type LifecycleOptions,
  type ShutdownPhase,
  type ShutdownStep,
} from './lifecycle.ts';
export {
  Readiness,
  type CheckResult,
  type DependencyCheck,
  type ReadinessOptions,
  type ReadinessReport,
  type ReadinessState,
} from './readiness.ts';
