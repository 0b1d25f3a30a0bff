/** The HTTP side of a service: probes, metrics, problem+json errors. See README.md § http. */
export { createHttpApp, listen, type HttpAppOptions, type HttpServer } from './app.ts';
export {
  PROBLEM_CONTENT_TYPE,
  problemFromError,
  problemType,
  sendProblem,
  titleOf,
  type Problem,
} from './problem.ts';
