/**
 * gRPC server and client helpers: health, reflection, deadlines, tracing, access logs, metrics,
 * and the domain-error ↔ status-code mapping. See README.md § grpc.
 */
export {
  LIVENESS_SERVICE,
  createGrpcServer,
  grpcService,
  serviceNameOf,
  type BidiStreamingHandler,
  type CallContext,
  type ClientStreamingHandler,
  type GrpcServer,
  type GrpcServerOptions,
  type GrpcService,
  type HandlerFor,
  type ReflectionPackageDefinition,
  type ServerStreamingHandler,
  type ServiceImplementation,
  type UnaryHandler,
} from './server.ts';
export {
  clientInterceptor,
  createGrpcClient,
  type CallOptions,
  type ClientMethod,
  type GrpcClient,
  type GrpcClientHandle,
  type GrpcClientOptions,
  type RetryOptions,
} from './client.ts';
export {
  serverDeadlineInterceptor,
  serverObservabilityInterceptor,
  rpcMethodName,
  type DeadlineInterceptorOptions,
  type ObservabilityInterceptorOptions,
} from './server-interceptors.ts';
export {
  AbortedError,
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  DomainError,
  FailedPreconditionError,
  INTERNAL_MESSAGE,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
  fromGrpcError,
  grpcCodeName,
  grpcCodeToHttpStatus,
  toGrpcStatus,
  type DomainErrorOptions,
  type FieldViolation,
  type GrpcCode,
  type MappedStatus,
} from './errors.ts';
export {
  STATUS_DETAILS_KEY,
  decodeStatusDetails,
  encodeStatusDetails,
  type StatusDetails,
} from './status-details.ts';
export { activeDeadline, extractMetadata, injectMetadata } from './context.ts';
export { Metadata, status } from '@grpc/grpc-js';
export { CsvFileError, MAX_CSV_BYTES, parseCsvUpload } from './csv-upload.ts';
export { readCsvTable, type CsvTable, type CsvTableOptions, type CsvTableRow } from './csv-table.ts';
export { CSV_BOM, csvField, csvLine, csvText, type CsvValue } from './csv-text.ts';
export {
  IMPORT_PROGRESS_EVERY_ROWS,
  importResponse,
  importRows,
  type ImportRow,
  type ImportRowError,
  type ImportRowProblem,
  type ImportRowsOptions,
  type ImportStep,
} from './import-rows.ts';
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  decodeToken,
  encodeToken,
  pageOf,
  pageSize,
  timeKeyset,
} from './paging.ts';
